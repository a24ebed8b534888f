// Bench: the firmware's XS heap, in slots, over a demo device's boot, a day of use and single verdicts (valid,
// replayed, wrong) per protocol, read with xsnap's meter (currentHeapCount) between calls. Goal (issue 20): at most
// 32 KB of heap and 4 KB of stack; manifest.json `creation` is sized from these figures (hosts/moddable/README.md).
//
// Method: before each step the probe collects garbage (xsnap's gc()), so the meter counts live slots; the step runs
// with no collection inside it (xsnap's heap starts at 256 K slots), so the count after it less the live count
// before is every slot the step allocated, garbage included: the heap a device needs to run that step with no GC,
// an upper bound of its live peak. Live after: the count after the next collection, less the count before boot (the
// probe, the simulated board and its flash images). The harness's own call is subtracted. One slot is 16 bytes on
// the 32-bit chips (ESP32, nRF52840). Chunks (strings, typed arrays, array storage) and the stack are not metered by
// xsnap: Moddable's instrumentation on the lin target reports them (README, "Moddable's simulator").
import { execFileSync } from "child_process";
import fs from "fs";
import path from "path";
import { XsProbe } from "../../hosts/xsnap/engine";
import { DEMO_PROTOCOLS, type DemoProtocol } from "../../hosts/node/simdemo";
import { printTable, type Cell } from "./table";

export const name = "memory";

const SLOT_BYTES = 16;
const HOUR = 3_600_000;

interface Step {
  readonly phase: string;
  readonly fn: string;
  readonly args: unknown[];
}

/** A day: four codes bought, one mistyped, hours passing between them one by one (credit ticking, load on, off). */
function steps(): Step[] {
  const type = (i: number, wrong = false): Step[] => [{ phase: "day", fn: "memType", args: [i, wrong] }];
  const wait = (hours: number): Step[] =>
    Array.from({ length: hours }, () => ({ phase: "day", fn: "memWait", args: [HOUR] }));
  return [
    { phase: "boot", fn: "memBoot", args: [] },
    ...[type(0), wait(6), type(1), wait(6), type(2, true), wait(1), type(2), wait(6), type(3), wait(5)].flat(),
    { phase: "verdict: valid code", fn: "memType", args: [4, false] },
    { phase: "verdict: replayed code", fn: "memType", args: [4, false] },
    { phase: "verdict: wrong code", fn: "memType", args: [5, true] },
  ];
}

async function measure(protocol: DemoProtocol): Promise<Cell[][]> {
  const xs = await XsProbe.load("tools/probes/memory.probe.ts");
  try {
    let calls = 0;
    const call = <T>(fn: string, ...args: unknown[]) => (calls++, xs.call<T>(fn, ...args));
    const collect = async () => (await call<boolean>("memCollect")).heapCount;
    // xsnap keeps about one slot per evaluation (the harness's, not the firmware's): measured, then subtracted.
    const first = await collect();
    for (let i = 0; i < 20; i++) await call("memNothing");
    const kept = ((await collect()) - first) / 21;
    const overhead = (await call("memNothing")).heapCount - (await collect());
    await call("memSetup", protocol, 8);
    const base = await collect();
    const since = calls;
    const peaks = new Map<string, { peak: number; live: number }>();
    for (const step of steps()) {
      const before = await collect();
      const { heapCount } = await call<string>(step.fn, ...step.args);
      const live = Math.round((await collect()) - base - kept * (calls - since));
      const peak = heapCount - before - overhead;
      peaks.set(step.phase, { peak: Math.max(peak, peaks.get(step.phase)?.peak ?? 0), live });
    }
    return [...peaks].map(([phase, m]) => [
      protocol,
      phase,
      m.peak,
      (m.peak * SLOT_BYTES) / 1024,
      m.live,
      (m.live * SLOT_BYTES) / 1024,
    ]);
  } finally {
    await xs.close();
  }
}

/**
 * The preloaded module archive each Moddable build of solkey left under $MODDABLE/build/tmp (mcconfig's xsl links
 * every preloaded module into mc.xs.c; its object is what the image carries in flash), sized with binutils' `size`.
 */
function printArchives(): void {
  const title = "Flash: the preloaded XS module archive (mc.xs.c.o) of each Moddable build of solkey";
  const moddable = process.env.MODDABLE;
  if (!moddable) {
    console.log(
      `\n${title}: skipped, MODDABLE is not set (README, Pinned toolchains; then mcconfig -m -p lin manifest.json)`,
    );
    return;
  }
  const tmp = path.join(moddable, "build", "tmp");
  const builds = (fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).flatMap((platform) =>
    ["debug", "release"]
      .map((mode) => ({ platform, mode, file: path.join(tmp, platform, "mc", mode, "solkey", "mc.xs.c.o") }))
      .filter((b) => fs.existsSync(b.file)),
  );
  if (builds.length === 0) {
    console.log(`\n${title}: skipped, no solkey build under ${tmp} (mcconfig -m -p lin manifest.json builds one)`);
    return;
  }
  const rows = builds.map(({ platform, mode, file }): Cell[] => {
    // `size -A`: one line per section, "name bytes address"; read-only sections stay in flash, .data would be copied.
    const sections = execFileSync("size", ["-A", file], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length === 3 && f[0].startsWith(".") && /^\d+$/.test(f[1]));
    const sum = (test: (name: string) => boolean) =>
      sections.filter(([name]) => test(name)).reduce((total, [, bytes]) => total + Number(bytes), 0);
    const all = sum(() => true);
    return [platform, mode, all, all / 1024, sum((n) => n.startsWith(".data.rel.ro")) / 1024];
  });
  printTable(title, ["platform", "build", "bytes", "KB", "KB of it slots and pointers"], rows, [
    "The archive holds solkey's preloaded modules and the Moddable runtime modules the manifest includes (base, io,",
    "files, the lin host's). Slots and pointers are 8-byte pointers on a 64-bit host (lin), 4-byte on the 32-bit chips:",
    "an esp32 or nrf52 build's archive is smaller by about half of that column (build one and rerun to see it).",
  ]);
}

export async function run(): Promise<void> {
  const rows: Cell[][] = [];
  for (const protocol of DEMO_PROTOCOLS) rows.push(...(await measure(protocol)));
  const worst = Math.max(...rows.map((r) => (r[4] as number) + (r[2] as number)));
  printTable(
    "Memory: XS heap slots per step of a demo device's life (firmware/main.ts on the simulated board, inside XS)",
    ["protocol", "step", "slots allocated (max)", "KB", "slots live after", "KB live"],
    rows,
    [
      "slots allocated: every slot the step allocated with no collection inside it (the heap to run it without a GC);",
      "day: the largest of its steps (4 codes, 1 mistyped, 24 hours one by one). Live after: retained by the device.",
      "Allocated counts garbage too: a device whose heap is smaller collects during the step (XS's mark-sweep runs",
      "when the heap is full), so the heap it needs is the live slots plus the live part of a step, which xsnap cannot",
      "see from outside; the lin target's instrumentation does (README, Moddable's simulator).",
      `Worst live + allocated: ${worst.toLocaleString("en-US")} slots = ${((worst * SLOT_BYTES) / 1024).toFixed(1)} ` +
        `KB at ${SLOT_BYTES} B/slot (goal: heap <= 32 KB with chunks). Chunks and stack: the lin target.`,
    ],
  );
  printArchives();
}
