// Helpers for the fleet, issue and end-to-end suites: the solkey CLI run in-process with captured output, scratch
// directories, and one provisioned device.
import fs from "fs";
import os from "os";
import path from "path";
import { openFleet } from "../fleet/database";
import { provisionBatch, type ProvisionedDevice } from "../fleet/devices";
import { makeProfile } from "../fleet/profile";
import { main } from "../tools/cli";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `solkey ...args` in this process (as bin/solkey.js would) with `env` added to process.env. */
export async function solkey(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  Object.assign(process.env, env);
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    process.exitCode = undefined;
    const code = await main(args);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.exitCode = undefined;
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** A fresh empty directory under the OS temp dir. */
export function scratch(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `solkey-${name}-`));
}

export const MASTER_HEX = "8f3c2a1b9d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef";

/** One device of `protocol` on `board`, provisioned with a random key into a database in memory. */
export function provisionOne(protocol: string, board: string): ProvisionedDevice {
  const db = openFleet(":memory:", { create: true });
  try {
    return provisionBatch(db, ":memory:", { profile: makeProfile({ protocol, board }), count: 1, master: null })
      .devices[0];
  } finally {
    db.close();
  }
}
