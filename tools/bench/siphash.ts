// Bench: SipHash-2-4 per 8-byte message on Node, inside XS (time and compute units), and in C: the native twin's own
// core (hosts/moddable/siphash/siphash24.c, 8-byte loads and stores: a fair baseline) with -O2 and -O3, per hash and
// per count of an OpenPAYGO chain walk. Target (issue 2): XS at most 400 times the C time, side by side in one run.
import { execFileSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { XsProbe } from "../../hosts/xsnap/engine";
import { hashLoop } from "../probes/siphash.probe";
import { printTable } from "./table";

export const name = "siphash";

const XS_HASHES = 100_000;
const NODE_HASHES = 2_000_000;
const C_HASHES = 20_000_000;

/** Best of `runs` timings of `f`, in ns per hash. */
function bestOf(runs: number, f: () => number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, f());
  return best;
}

function nodeNsPerHash(): number {
  hashLoop(10_000); // warm up the JIT
  return bestOf(3, () => {
    const t = process.hrtime.bigint();
    hashLoop(NODE_HASHES);
    return Number(process.hrtime.bigint() - t) / NODE_HASHES;
  });
}

const CORE = path.join(__dirname, "../../hosts/moddable/siphash");

/** ns per hash and per chain-walk count of tools/bench/siphash_native.c built with `cc flags`; undefined without cc. */
function cNs(flags: string): { hash: number; walk: number } | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-siphash-"));
  try {
    const exe = path.join(dir, "siphash");
    execFileSync("cc", [flags, "-I", CORE, "-o", exe, path.join(__dirname, "siphash_native.c")], { stdio: "pipe" });
    const runs = [0, 1, 2].map(() =>
      execFileSync(exe, [String(C_HASHES)], { encoding: "utf8" })
        .split(" ")
        .map(Number),
    );
    return { hash: Math.min(...runs.map((r) => r[0])), walk: Math.min(...runs.map((r) => r[1])) };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const xs = await XsProbe.load("tools/probes/siphash.probe.ts");
  let xsNs: number, xsCompute: number;
  try {
    const base = (await xs.call<number>("hashLoop", 0)).compute; // the call itself, subtracted
    const runs: Array<{ ns: number; compute: number }> = [];
    for (let i = 0; i < 3; i++) {
      const t = process.hrtime.bigint();
      const { compute } = await xs.call<number>("hashLoop", XS_HASHES);
      runs.push({ ns: Number(process.hrtime.bigint() - t) / XS_HASHES, compute: (compute - base) / XS_HASHES });
    }
    xsNs = Math.min(...runs.map((r) => r.ns));
    xsCompute = runs[0].compute;
  } finally {
    await xs.close();
  }
  const nodeNs = nodeNsPerHash();
  const c = { O2: cNs("-O2"), O3: cNs("-O3") };
  const ratio = (ns: number | undefined) => (ns === undefined ? "n/a (no cc)" : `${(xsNs / ns).toFixed(0)}x`);
  const ns = (v: number | undefined) => (v === undefined ? "n/a" : v);
  printTable(
    "SipHash-2-4, one 8-byte message (firmware/crypto/siphash.ts; C: hosts/moddable/siphash/siphash24.c)",
    ["engine", "ns/hash", "XS compute/hash", "XS / this"],
    [
      ["XS (xsnap)", xsNs, xsCompute, "1x"],
      ["Node (V8 JIT)", nodeNs, "-", `${(xsNs / nodeNs).toFixed(0)}x`],
      ["C, cc -O2, hash", ns(c.O2?.hash), "-", ratio(c.O2?.hash)],
      ["C, cc -O3, hash", ns(c.O3?.hash), "-", ratio(c.O3?.hash)],
      ["C, cc -O2, OpenPAYGO walk per count", ns(c.O2?.walk), "-", ratio(c.O2?.walk)],
    ],
    [
      "Target: XS <= 400x the C time. Best of 3 runs; XS time includes no IPC (100,000 hashes per call).",
      "C hashes are chained (each message is the previous tag, stored as one 8-byte word), like an OpenPAYGO chain;",
      "the walk row is sip24_chain_walk, what the device's native twin runs per verdict (hash + fold + compare).",
    ],
  );
}
