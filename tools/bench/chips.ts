// Bench: the device's time per keycode verdict on real chips, on paper, with and without the native SipHash twin.
// Measured here: XS compute units per verdict (the verdict key handed to firmware/main.ts, as device.ts does), the
// SipHashes in it (counted under Node on the same inputs), XS compute per hash and this machine's ns per unit.
// Assumed (written down, not measured on a chip): 25 to 50 cycles per XS compute unit on either chip. An idle x86 runs
// xsnap at ~4.5 ns per unit, ~10 cycles at 2.1 GHz (the table prints this run's best, higher on a busy machine); a
// single-issue in-order core running XS from flash through a cache needs 2.5-5 times the cycles of an out-of-order
// one for the same interpreter loop. xsnap's metering adds work, so the host figure is if anything high.
// C SipHash-2-4 of 8 bytes = 400 cycles on
// the nRF52840's Cortex-M4 (arm-none-eabi-gcc -O2: 329 instructions, CPI ~1.2) and 600 on the ESP32's Xtensa LX6
// (no carry flag: ~1.5x the instructions), plus 300 cycles per crossing into C (two per verdict at most).
import "../../hosts/node/simresolve"; // first: the demo devices load firmware/main.ts
import fs from "fs";
import * as siphash from "../../firmware/crypto/siphash";
import { XsProbe } from "../../hosts/xsnap/engine";
import { DEMO_PROTOCOLS, type DemoProtocol } from "../../hosts/node/simdemo";
import * as node from "../probes/sim.probe";
import { printTable, type Cell } from "./table";

export const name = "chips";

const CHIPS = [
  { name: "ESP32 (240 MHz)", mhz: 240, hashCycles: 600 },
  { name: "nRF52840 (64 MHz)", mhz: 64, hashCycles: 400 },
] as const;
const CYCLES_PER_UNIT = { low: 25, high: 50 };
const CROSSING_CYCLES = 300;
const REFILL_MS = 720_000; // one Nexus attempt refills per 720 s (firmware/ledger/limiter.ts)

type Entry = "valid" | "replayed" | "wrong";

/** The keys of a verdict: a fresh code, the previous one again, or a fresh one with its middle key changed. */
function keysFor(entry: Entry, fresh: string, previous: string): string {
  if (entry === "replayed") return previous;
  if (entry === "valid") return fresh;
  const m = fresh.length >> 1;
  const other = [...fresh].find((k) => k !== fresh[m] && k !== "*" && k !== "#") as string;
  return fresh.slice(0, m) + other + fresh.slice(m + 1);
}

/** SipHashes during the last key of `keys` under Node, on the same demo device state as inside XS. */
function hashesUnderNode(keys: string): number {
  const module = siphash as { siphashWords: typeof siphash.siphashWords };
  const original = module.siphashWords;
  for (const key of keys.slice(0, -1)) node.benchKey(key);
  let count = 0;
  module.siphashWords = (...args) => (count++, original(...args));
  try {
    node.benchKey(keys.slice(-1));
  } finally {
    module.siphashWords = original;
  }
  return count;
}

async function verdicts(protocol: DemoProtocol): Promise<Array<{ entry: Entry; compute: number; hashes: number }>> {
  const xs = await XsProbe.load("tools/probes/sim.probe.ts");
  try {
    await xs.call("benchBoot", protocol, 4);
    node.benchBoot(protocol, 4);
    const idle = (await xs.call("benchType", "")).compute;
    const out: Array<{ entry: Entry; compute: number; hashes: number }> = [];
    let previous = "";
    for (const entry of ["valid", "replayed", "wrong"] as Entry[]) {
      await xs.call("benchWait", REFILL_MS);
      node.benchWait(REFILL_MS);
      const fresh = (await xs.call<string>("benchCode")).result;
      if (node.benchCode() !== fresh) throw new Error("the XS and Node demo devices disagree");
      const keys = keysFor(entry, fresh, previous);
      for (const key of keys.slice(0, -1)) await xs.call("benchKey", key);
      const { compute } = await xs.call<string>("benchKey", keys.slice(-1));
      out.push({ entry, compute: compute - idle, hashes: hashesUnderNode(keys) });
      if (entry === "valid") previous = fresh;
    }
    return out;
  } finally {
    await xs.close();
  }
}

/** XS compute per SipHash and this machine's ns per compute unit, the best of 5 timed hash loops. */
async function xsSpeed(): Promise<{ perHash: number; nsPerUnit: number }> {
  const xs = await XsProbe.load("tools/probes/siphash.probe.ts");
  try {
    const base = (await xs.call("hashLoop", 0)).compute;
    let best = Infinity;
    let perHash = 0;
    for (let i = 0; i < 5; i++) {
      const t = process.hrtime.bigint();
      const { compute } = await xs.call("hashLoop", 20_000);
      best = Math.min(best, Number(process.hrtime.bigint() - t) / compute);
      perHash = (compute - base) / 20_000;
    }
    return { perHash, nsPerUnit: best };
  } finally {
    await xs.close();
  }
}

function hostMhz(): number {
  const line = fs.readFileSync("/proc/cpuinfo", "utf8").match(/cpu MHz\s*:\s*([\d.]+)/);
  return line ? Number(line[1]) : 3000;
}

export async function run(): Promise<void> {
  const speed = await xsSpeed();
  const mhz = hostMhz();
  const hostCycles = (speed.nsPerUnit * mhz) / 1000;
  const rows: Cell[][] = [];
  for (const protocol of DEMO_PROTOCOLS) {
    for (const v of await verdicts(protocol)) {
      const scriptHash = v.hashes * speed.perHash;
      const ms = (units: number, cycles: number, chip: (typeof CHIPS)[number]) => (units * cycles) / (chip.mhz * 1e3);
      const cells: Cell[] = [protocol, v.entry, v.compute, v.hashes];
      for (const chip of CHIPS) {
        const native = (cycles: number) =>
          ms(v.compute - scriptHash, cycles, chip) +
          (v.hashes * chip.hashCycles + 2 * CROSSING_CYCLES) / (chip.mhz * 1e3);
        const [lo, hi] = [CYCLES_PER_UNIT.low, CYCLES_PER_UNIT.high];
        cells.push(`${ms(v.compute, lo, chip).toFixed(1)}-${ms(v.compute, hi, chip).toFixed(1)}`);
        cells.push(`${native(lo).toFixed(1)}-${native(hi).toFixed(1)}`);
      }
      rows.push(cells);
    }
  }
  printTable(
    "Verdict time on the chips, on paper (ms: low-high), script SipHash vs the native twin (hosts/moddable/siphash)",
    ["protocol", "entry", "XS compute", "SipHashes", "ESP32 XS", "ESP32 native", "nRF52840 XS", "nRF52840 native"],
    rows,
    [
      `This machine: ${speed.nsPerUnit.toFixed(2)} ns per XS compute unit at ${mhz.toFixed(0)} MHz = ` +
        `${hostCycles.toFixed(1)} cycles (best of 5); assumed on the chips: ${CYCLES_PER_UNIT.low}-` +
        `${CYCLES_PER_UNIT.high} cycles per unit (method: tools/bench/chips.ts header).`,
      `XS compute per SipHash: ${speed.perHash.toFixed(0)}; native: that work moves to C at ` +
        `${CHIPS.map((c) => `${c.hashCycles} cycles/hash on ${c.name}`).join(", ")}, + ${CROSSING_CYCLES} per crossing.`,
      "The verdict key: the last key handed to the firmware (framing, verifier, ledger, journal append and read-back,",
      "feedback start); flash write time not included. OpenPAYGO worst case: a value never seen at count N walks",
      "N + 64 SipHashes (each adds one hash's time above); a value seen recently walks at most its window (~80).",
    ],
  );
}
