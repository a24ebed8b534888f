// Reads conformance vectors: the shared ones (../shared/vectors beside the repository, or $SOLKEY_VECTORS), or
// solkey's own interop rows (vectors/ in the repository).
import fs from "fs";
import path from "path";

export const VECTORS_DIR = process.env.SOLKEY_VECTORS ?? path.resolve(__dirname, "../../shared/vectors");
export const INTEROP_VECTORS_DIR = path.resolve(__dirname, "../vectors");

export function readVectors<T>(file: string, dir = VECTORS_DIR): T[] {
  return fs
    .readFileSync(path.join(dir, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}
