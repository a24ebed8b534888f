// The hub as a separate process, for the load benchmark and the SIGKILL test: the installed `solkey hub` (compiled
// JavaScript: ts-node takes seconds to start; a restart loop needs well under one), started on a random loopback port, and a
// keep-alive HTTP client that posts Daraja confirmations to it.
import { execFileSync, spawn, type ChildProcess } from "child_process";
import fs from "fs";
import http from "http";
import os from "os";
import path from "path";
import { isPostgresUrl } from "../fleet/database";

/** The installed command (bin/solkey.js runs dist/solkey.js, built by tools/build.mjs). */
const SOLKEY = path.join(__dirname, "..", "bin", "solkey.js");

/** Builds dist/solkey.js from the sources, so the process runs the code under test (well under a second). */
export function buildCli(): void {
  execFileSync(process.execPath, [path.join(__dirname, "build.mjs")]);
}

export interface HubProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * Starts `solkey hub --db FILE --port 0` and resolves with its port once it listens. Its stdout (log lines, and each
 * SMS with the log driver) is appended to `FILE.log`, never to a pipe this process drains: a pipe the caller reads
 * late fills, and the hub's next write to it blocks its event loop (measured: seconds-long stalls under load).
 * `nodeArgs` go to node before the script (`--cpu-prof`).
 */
export function startHub(
  db: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<HubProcess> {
  const log = fs.openSync(_logFile(db), "a");
  const child = spawn(
    process.execPath,
    [...nodeArgs, SOLKEY, "hub", "--db", db, "--port", "0", "--host", "127.0.0.1"],
    {
      env: { ...process.env, ...env, NODE_PATH: path.join(__dirname, "..", "node_modules") },
      stdio: ["ignore", log, "pipe"],
    },
  );
  fs.closeSync(log); // the child holds its own descriptor
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m !== null) resolve({ port: Number(m[1]), child, exited });
      if (err.length > 1e5) err = err.slice(-1e4);
    });
    child.once("exit", (code) => reject(new Error(`hub exited (${code}) before listening: ${err.slice(0, 500)}`)));
  });
}

/** `FILE.log` beside an SQLite fleet; for a PostgreSQL URL, a file in the temporary folder named by the database. */
function _logFile(db: string): string {
  if (!isPostgresUrl(db)) return `${db}.log`;
  return path.join(os.tmpdir(), `solkey-hub-${new URL(db).pathname.slice(1) || "fleet"}-${process.pid}.log`);
}

/** Posts one JSON body; resolves with the status and body, rejects on a broken connection (a killed hub). */
export function post(
  agent: http.Agent,
  port: number,
  urlPath: string,
  body: object,
): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method: "POST",
        path: urlPath,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}
