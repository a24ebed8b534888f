// The solkey command's contract: exit codes (0 ok, 1 failure, 2 usage), one-line errors, conformance output.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { VECTORS_DIR } from "./vectors";

const BIN = path.resolve(__dirname, "../bin/solkey.js");

function solkey(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("solkey command", () => {
  it("prints help and exits 0", () => {
    const r = solkey("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: solkey/);
    expect(r.stdout).toMatch(/vectors/);
  });

  it("answers an unknown command with one line naming the closest command, and exit 2", () => {
    const r = solkey("provsion");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "solkey: unknown command 'provsion' (Did you mean provision?); `solkey --help` lists the commands\n",
    );
  });

  it("answers a bad flag with exit 2 and one line naming the closest option and the command's help", () => {
    const r = solkey("issue", "--dayz", "3");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "solkey: unknown option '--dayz' (Did you mean --days?); `solkey help issue` lists its options\n",
    );
  });

  it("names a missing vector file and exits 2", () => {
    const r = solkey("vectors", "/nonexistent/rows.jsonl");
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("solkey: no such vector file: /nonexistent/rows.jsonl");
  });

  it("passes all 64 SipHash vectors", () => {
    const r = solkey("vectors", path.join(VECTORS_DIR, "siphash24.jsonl"));
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").pop()).toBe("64 passed, 0 failed");
  });

  it("reports a tampered row as one failure line and exits 1", () => {
    const rows = fs.readFileSync(path.join(VECTORS_DIR, "siphash24.jsonl"), "utf8").trim().split("\n").slice(0, 3);
    rows[1] = rows[1].replace(/"hash_le": "(..)/, (_m, byte: string) => `"hash_le": "${byte === "00" ? "01" : "00"}`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "solkey-cli-")), "tampered.jsonl");
    fs.writeFileSync(file, rows.join("\n") + "\nnot json\n");
    const r = solkey("vectors", file);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("FAIL"))).toHaveLength(2);
    expect(lines.find((l) => l.includes(":2:"))).toMatch(/siphash24 hash [0-9a-f]{16}, expected/);
    expect(lines.find((l) => l.includes(":4:"))).toMatch(/not a JSON object/);
    expect(lines.pop()).toBe("2 passed, 2 failed");
  });
});
