// Reads conformance vectors: the shared ones (../shared/vectors beside the repository, or $SOLKEY_VECTORS), or
// solkey's own interop rows (vectors/ in the repository).
import fs from "fs";
import path from "path";
import { XsProbe } from "../hosts/xsnap/engine";

export const VECTORS_DIR = process.env.SOLKEY_VECTORS ?? path.resolve(__dirname, "../../shared/vectors");
export const INTEROP_VECTORS_DIR = path.resolve(__dirname, "../vectors");

export function readVectors<T>(file: string, dir = VECTORS_DIR): T[] {
  return fs
    .readFileSync(path.join(dir, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** `name(...args)` of the probe module `probe`, run inside XS (the probe is loaded for this call and closed after). */
export async function inXs<T>(probe: string, name: string, ...args: unknown[]): Promise<T> {
  const xs = await XsProbe.load(probe);
  try {
    return (await xs.call<T>(name, ...args)).result;
  } finally {
    await xs.close();
  }
}
