// The XS side of the two-engine harness: one Moddable XS machine (through @agoric/xsnap) driven by JSON lines.
// In:  {"id": n, "code": "..."} per line on stdin. Out: {"id": n, "ok": true, "messages": [...], "compute": c}
// (and "heapCount": XS slots in use, the meter's currentHeapCount) or {"id": n, "ok": false, "error": "..."} per line on stdout. Scripts report with issueCommand(ArrayBuffer).
// It runs in its own Node process because xsnap needs SES's lockdown, which must not touch the test runner.
import "@endo/init";
import { xsnap } from "@agoric/xsnap";
import { spawn } from "child_process";
import fs from "fs";
import fsp from "fs/promises";
import os from "os";
import readline from "readline";
import tmp from "tmp";

const decoder = new TextDecoder();
let messages = [];
const worker = await xsnap({
  name: "solkey",
  os: os.type(),
  spawn,
  fs: { ...fs, ...fsp, tmpName: tmp.tmpName },
  meteringLimit: 0, // no crank limit: benchmarks run long loops
  stdout: "inherit",
  stderr: "inherit",
  handleCommand: async (bytes) => {
    messages.push(decoder.decode(bytes));
    return new Uint8Array(0);
  },
});

const write = (reply) => process.stdout.write(JSON.stringify(reply) + "\n");
let queue = Promise.resolve();
readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    const { id, code } = JSON.parse(line);
    queue = queue.then(async () => {
      messages = [];
      try {
        const { meterUsage } = await worker.evaluate(code);
        write({ id, ok: true, messages, compute: meterUsage.compute, heapCount: meterUsage.currentHeapCount });
      } catch (e) {
        write({ id, ok: false, error: String(e && e.message ? e.message : e), messages });
      }
    });
  })
  .on("close", () => queue.then(() => worker.close()));
