// Bench: keypress-to-verdict cost inside XS, per protocol, on the demo devices with fresh add-credit codes.
// "firmware": the debounced key handed to the device core (framing, verifier, ledger, journal commit, feedback start)
// as the chip's scan loop does; "simulated board": from key contact, through the stand-ins' debounce scans run 1 ms
// at a time (stand-in GPIO work a chip does in hardware, so an upper bound).
import "../../hosts/node/simresolve"; // first: the demo devices load firmware/main.ts
import { XsProbe } from "../../hosts/xsnap/engine";
import { DEMO_PROTOCOLS } from "../../hosts/node/simdemo";
import { printTable, type Cell } from "./table";

export const name = "device";

const ROUNDS = 5;

/** Between codes: one Nexus attempt refills per 720 s of uptime (firmware/ledger/limiter.ts); OpenPAYGO needs none. */
const REFILL_MS = 720_000;

interface Cost {
  compute: number;
  shown: string;
}

/** Median compute of `costs`, and what they showed. */
function summarize(costs: Cost[]): Cost {
  const compute = costs.map((c) => c.compute).sort((a, b) => a - b)[Math.floor(costs.length / 2)];
  return { compute, shown: [...new Set(costs.map((c) => c.shown))].join("/") };
}

async function cost(xs: XsProbe, fn: string, ...args: unknown[]): Promise<Cost> {
  const { result, compute } = await xs.call<string>(fn, ...args);
  return { compute, shown: result };
}

/** XS's speed on this machine: ns per compute unit over a whole code typed on the simulated board (~10^7 units). */
async function nsPerCompute(xs: XsProbe): Promise<number> {
  const code = (await xs.call<string>("benchCode")).result;
  const t = process.hrtime.bigint();
  const { compute } = await xs.call("benchType", code);
  return Number(process.hrtime.bigint() - t) / compute;
}

/** One protocol: ROUNDS codes handed to the firmware entry, ROUNDS typed on the simulated keypad. */
async function measure(protocol: string): Promise<{ rows: Cell[][]; ns: number }> {
  const xs = await XsProbe.load("tools/probes/sim.probe.ts");
  try {
    await xs.call("benchBoot", protocol, 2 * ROUNDS + 1);
    const refill = protocol === "openpaygo" ? 0 : REFILL_MS;
    const idle = (await cost(xs, "benchType", "")).compute; // the harness's own call, subtracted
    const firmware = { key: [] as Cost[], verdict: [] as Cost[] };
    const board = { key: [] as Cost[], verdict: [] as Cost[] };
    for (let i = 0; i < ROUNDS; i++) {
      await xs.call("benchWait", refill);
      const code = (await xs.call<string>("benchCode")).result;
      firmware.key.push(await cost(xs, "benchKey", code[0]));
      for (const key of code.slice(1, -1)) await xs.call("benchKey", key);
      firmware.verdict.push(await cost(xs, "benchKey", code.slice(-1)));
    }
    for (let i = 0; i < ROUNDS; i++) {
      await xs.call("benchWait", refill);
      const code = (await xs.call<string>("benchCode")).result;
      board.key.push(await cost(xs, "benchPress", code[0]));
      await xs.call("benchRelease", code[0]);
      await xs.call("benchType", code.slice(1, -1));
      board.verdict.push(await cost(xs, "benchPress", code.slice(-1)));
      await xs.call("benchRelease", code.slice(-1));
    }
    await xs.call("benchWait", refill);
    const ns = await nsPerCompute(xs);
    const row = (where: string, press: string, costs: Cost[]): Cell[] => {
      const s = summarize(costs);
      const compute = s.compute - idle;
      return [protocol, where, press, s.shown, compute, (compute * ns) / 1e6];
    };
    return {
      ns,
      rows: [
        row("firmware", "last key -> verdict", firmware.verdict),
        row("firmware", "other key -> blink", firmware.key),
        row("simulated board", "last key -> verdict", board.verdict),
        row("simulated board", "other key -> blink", board.key),
      ],
    };
  } finally {
    await xs.close();
  }
}

export async function run(): Promise<void> {
  const rows: Cell[][] = [];
  const speeds: string[] = [];
  for (const protocol of DEMO_PROTOCOLS) {
    const m = await measure(protocol);
    rows.push(...m.rows);
    speeds.push(`${protocol} ${m.ns.toFixed(1)}`);
  }
  printTable(
    "Device: keypress to feedback inside XS (firmware/main.ts; demo devices, fresh add-credit codes)",
    ["protocol", "from", "press", "shown", "XS compute (median of 5)", "ms on this machine"],
    rows,
    [
      "firmware: the debounced key handed to the device core: framing, verifier, ledger step, journal append and",
      "read-back, feedback start. simulated board: from key contact, with the stand-ins' GPIO nets and 4 debounce",
      "scans at 5 ms run 1 ms at a time (hardware work on a chip: an upper bound). Harness call subtracted.",
      `ms = compute x XS ns per compute unit, timed over a whole code on the board in the same run (${speeds.join(", ")}):`,
      "a single key is too short to time through the harness's round trip.",
    ],
  );
}
