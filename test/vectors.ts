// Reads the shared conformance vectors (../shared/vectors beside the repository, or $SOLKEY_VECTORS).
import fs from "fs";
import path from "path";

export const VECTORS_DIR = process.env.SOLKEY_VECTORS ?? path.resolve(__dirname, "../../shared/vectors");

export function readVectors<T>(file: string): T[] {
  return fs
    .readFileSync(path.join(VECTORS_DIR, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}
