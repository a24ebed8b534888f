// Bench: journal wear (issue 5). Bytes programmed and erases per accepted code, per clock checkpoint and per boot,
// measured on the NOR simulator under the real ledger, and projected flash life at 10 codes a day with the device's
// checkpoint interval (and hourly, the reference). Target: at least 25 years on two 4 KB sectors of
// 10k-cycle flash.
import { decodeDevice, encodeDevice } from "../../firmware/ledger/codec";
import {
  mount,
  reduce,
  CHECKPOINT_INTERVAL_MS,
  type LedgerEvent,
  type LedgerState,
} from "../../firmware/ledger/reducer";
import { freshState, type DeviceState } from "../../firmware/ledger/state";
import type { KeycodeProtocol } from "../../firmware/protocols/protocol";
import { NRF52, ESP32, type ChipProfile } from "../../firmware/storage/flash";
import { Journal, recordBytes } from "../../firmware/storage/journal";
import { NorSim } from "../../hosts/node/nor";
import { Random } from "../../hosts/node/nor-random";
import { deviceAndServer, PROTOCOLS, type TortureProtocol } from "../torture/ledger";
import { XsProbe } from "../../hosts/xsnap/engine";
import { printTable, type Cell } from "./table";

export const name = "wear";

const CODES_PER_DAY = 10;
/** Power cycles a day in the per-event run; the projections also try a unit that loses power every hour or so. */
const BOOTS_PER_DAY = 4;
const BOOT_RATES = [4, 20];
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const SIMULATED_DAYS = 400;
const TARGET_YEARS = 25;
const DAYS_PER_YEAR = 365.25;

type _Event = "code" | "checkpoint" | "boot";

interface _Tally {
  count: number;
  records: number;
  bytes: number;
  erases: number;
}

interface _Run {
  readonly payloadBytes: number;
  readonly tally: Record<_Event, _Tally>;
  /** Erases of the most-erased block per day. */
  readonly erasesPerBlockDay: number;
}

/**
 * `days` of a device in credit: a code every 24/CODES_PER_DAY hours, the ledger's checkpoint every hour of load,
 * `bootsPerDay` power cycles (each loses the lease and takes a new one). Counts each event's flash work.
 */
function simulate(protocolName: TortureProtocol, chip: ChipProfile, blocks: number, bootsPerDay: number): _Run {
  const random = new Random(7);
  const key = Uint8Array.from({ length: 16 }, () => random.below(256));
  const { protocol, sell } = deviceAndServer(protocolName, key, random);
  const flash = new NorSim({ chip, blocks });
  let journal = Journal.format(flash, encodeDevice(protocol, freshState(protocol)));
  const tally = { code: _zero(), checkpoint: _zero(), boot: _zero() };
  let payloadBytes = 0;
  let state: LedgerState<unknown> | undefined;
  const run = (kind: _Event, event: LedgerEvent) => {
    const before = { ...flash.counters };
    if (event.type === "boot") {
      journal = Journal.mount(flash);
      const mounted = journal.mounted;
      if (mounted.kind !== "record") throw new Error(`wear bench: mount found ${mounted.kind}`);
      state = mount(_decode(protocol, mounted.payload));
    }
    const step = reduce(protocol, state!, event);
    state = step.state;
    for (const effect of step.effects) {
      if (effect.type !== "persist") continue;
      const payload = encodeDevice(protocol, effect.device);
      payloadBytes = Math.max(payloadBytes, payload.length);
      journal.append(payload);
      tally[kind].records++;
    }
    tally[kind].count++;
    tally[kind].bytes += flash.counters.bytesProgrammed - before.bytesProgrammed;
    tally[kind].erases += flash.counters.erases - before.erases;
  };
  run("boot", { type: "boot" });
  // Time advances in checkpoint intervals: a code every 24/CODES_PER_DAY hours, a boot every 24/bootsPerDay hours.
  const stepsPerDay = DAY_MS / CHECKPOINT_INTERVAL_MS;
  const stepsPerCode = stepsPerDay / CODES_PER_DAY;
  const stepsPerBoot = bootsPerDay > 0 ? stepsPerDay / bootsPerDay : Infinity;
  let nextCode = 0;
  let nextBoot = stepsPerBoot / 2;
  for (let step = 0; step < SIMULATED_DAYS * stepsPerDay; step++) {
    for (; nextCode < step + 1; nextCode += stepsPerCode) {
      const code = sell(false);
      if (code.type === "entry") run("code", { type: "entry", digits: code.digits });
    }
    for (; nextBoot < step + 1; nextBoot += stepsPerBoot) run("boot", { type: "boot" });
    run("checkpoint", { type: "elapsed", ms: CHECKPOINT_INTERVAL_MS });
  }
  const erasesPerBlockDay = Math.max(...flash.image.blockErases) / SIMULATED_DAYS;
  return { payloadBytes, tally, erasesPerBlockDay };
}

/** Erases of the most-erased block per day for `recordsPerDay` appends of `payloadBytes` on the journal alone. */
function simulatePayload(payloadBytes: number, chip: ChipProfile, blocks: number, recordsPerDay: number): number {
  const flash = new NorSim({ chip, blocks });
  const journal = Journal.format(flash, new Uint8Array(payloadBytes));
  const days = 100;
  for (let i = 0; i < days * recordsPerDay; i++) journal.append(new Uint8Array(payloadBytes).fill(i));
  return Math.max(...flash.image.blockErases) / days;
}

/** Records a device in credit writes per day: one per code, per checkpoint of load, per boot (its new lease). */
const recordsPerDay = (intervalMs: number, boots: number) => CODES_PER_DAY + DAY_MS / intervalMs + boots;

export async function run(): Promise<void> {
  const perEvent: Cell[][] = [];
  const life: Cell[][] = [];
  let worstTargetYears = Infinity;
  const payloads: Array<[string, number]> = [];
  for (const protocolName of PROTOCOLS) {
    const base = simulate(protocolName, NRF52, 2, BOOTS_PER_DAY);
    payloads.push([protocolName, base.payloadBytes]);
    for (const kind of ["code", "checkpoint", "boot"] as const) {
      const t = base.tally[kind];
      perEvent.push([
        `${protocolName}: ${kind === "code" ? "accepted code" : kind}`,
        t.records / t.count,
        t.bytes / t.count,
        t.erases / t.count,
      ]);
    }
  }
  // Projections: the journal alone at each protocol's real record size and the event rates of each row; plus a
  // 256-byte payload, headroom for a device state that grows.
  const intervals = [...new Set([CHECKPOINT_INTERVAL_MS, HOUR_MS])];
  for (const [label, payload] of [...payloads, ["any", 256]] as Array<[string, number]>) {
    for (const intervalMs of intervals) {
      for (const boots of BOOT_RATES) {
        for (const blocks of [2, 4]) {
          const erasesPerBlockDay = simulatePayload(payload, NRF52, blocks, recordsPerDay(intervalMs, boots));
          const years = (cycles: number) => cycles / erasesPerBlockDay / DAYS_PER_YEAR;
          if (label !== "any" && blocks === 2 && intervalMs === CHECKPOINT_INTERVAL_MS)
            worstTargetYears = Math.min(worstTargetYears, years(NRF52.eraseCycles));
          life.push([
            `${label}, ${recordBytes(payload, NRF52.writeAlignment)} B record`,
            `${intervalMs / 60_000} min`,
            boots,
            blocks,
            erasesPerBlockDay,
            years(NRF52.eraseCycles),
            years(ESP32.eraseCycles),
          ]);
        }
      }
    }
  }
  printTable(
    "Journal wear per event (nRF52 profile, 2 x 4 KB blocks, real ledger; erases amortised over the records)",
    ["event", "records", "bytes programmed", "erases"],
    perEvent,
    [
      "boot: mount reads every block and writes nothing; the ledger's boot then takes a new lease (one record)",
      `${SIMULATED_DAYS} simulated days: ${CODES_PER_DAY} codes/day, checkpoint every ${CHECKPOINT_INTERVAL_MS / 60_000} min, ${BOOTS_PER_DAY} boots/day`,
    ],
  );
  printTable(
    `Projected flash life at ${CODES_PER_DAY} codes/day (device always in credit: worst case)`,
    ["journal", "checkpoint", "boots/day", "4 KB blocks", "erases/block/day", "years @10k", "years @100k"],
    life,
    [
      `the device checkpoints every ${CHECKPOINT_INTERVAL_MS / 60_000} min (firmware/ledger/reducer.ts); 60 min is the issue's reference case`,
      `target: >= ${TARGET_YEARS} years on two 4 KB blocks of 10k-cycle flash at the device's interval, up to ` +
        `${BOOT_RATES[BOOT_RATES.length - 1]} boots a day: ` +
        `${worstTargetYears >= TARGET_YEARS ? "met" : "NOT MET"} (worst protocol: ${worstTargetYears.toFixed(1)} years)`,
      "years = erase cycles / erases of the most-erased block per day / 365.25 (round-robin rotation levels wear)",
    ],
  );
  printTable(
    "Journal CPU in XS (compute units; SipHash-2-4 of 8 bytes is 1,944)",
    ["journal", "mount", "append"],
    await xsCost(),
    ["mount and append include the simulator's own reads (a byte loop that a chip's flash.read does natively)"],
  );
}

/** XS compute units of one mount and one append on a full 2-block journal (the boot's and a commit's CPU cost). */
async function xsCost(): Promise<Cell[][]> {
  const rows: Cell[][] = [];
  const xs = await XsProbe.load("tools/probes/storage.probe.ts");
  try {
    for (const payload of [36, 48, 256]) {
      const perBlock = Math.floor(NRF52.blockLength / recordBytes(payload, NRF52.writeAlignment));
      await xs.call("prepare", 2 * perBlock - 1, payload);
      const mount = (await xs.call<number>("mountPrepared")).compute;
      const both = (await xs.call<number>("mountAndAppend", payload)).compute;
      rows.push([`${recordBytes(payload, 4)} B records, ${2 * perBlock - 1} in 2 blocks`, mount, both - mount]);
    }
  } finally {
    await xs.close();
  }
  return rows;
}

function _zero(): _Tally {
  return { count: 0, records: 0, bytes: 0, erases: 0 };
}

function _decode<S>(protocol: KeycodeProtocol<S>, payload: Uint8Array): DeviceState<S> {
  const device = decodeDevice(protocol, payload);
  if (device === undefined) throw new Error("wear bench: the journal's record does not decode");
  return device;
}
