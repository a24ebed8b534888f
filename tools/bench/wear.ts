// Bench: journal v2 wear and the credit clock (issues 5, 21). Bytes programmed and erases per day on the NOR
// simulator under the real ledger at 10 codes, 24 power cuts and 24 h of load a day, on both boards' journal
// regions, the projected flash life and the worst loss per cut. Target: at least 25 years.
import { encodeDevice, mountedDevice } from "../../firmware/ledger/codec";
import {
  mount,
  reduce,
  CHECKPOINT_INTERVAL_MS,
  LEASE_MS,
  type LedgerEvent,
  type LedgerState,
} from "../../firmware/ledger/reducer";
import { freshState } from "../../firmware/ledger/state";
import { NRF52, ESP32, type ChipProfile } from "../../firmware/storage/flash";
import { Journal, journalKey, packedBytes } from "../../firmware/storage/journal";
import { XsProbe } from "../../hosts/xsnap/engine";
import { NorSim } from "../../hosts/node/nor";
import { OtpSim } from "../../hosts/node/otp";
import { Random } from "../../hosts/node/nor-random";
import { deviceAndServer, PROTOCOLS, type TortureProtocol } from "../torture/ledger";
import { printTable, type Cell } from "./table";

export const name = "wear";

const CODES_PER_DAY = 10;
/** Power cycles a day in the per-event run; the projections also try a unit that loses power every hour or so. */
const BOOTS_PER_DAY = 24;
const DAY_MS = 86_400_000;
const SIMULATED_DAYS = 60;
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
  const options = { key: journalKey(key), otp: new OtpSim(33) };
  let journal = Journal.format(flash, encodeDevice(protocol, freshState(protocol)), options);
  const tally = { code: _zero(), checkpoint: _zero(), boot: _zero() };
  let payloadBytes = 0;
  let state: LedgerState<unknown> | undefined;
  const run = (kind: _Event, event: LedgerEvent) => {
    const before = { ...flash.counters };
    if (event.type === "boot") {
      journal = Journal.mount(flash, options);
      const device = mountedDevice(protocol, journal.mounted);
      if (device === undefined) throw new Error(`wear bench: mount found ${journal.mounted.kind}`);
      if (!journal.migrated) journal.migrate(encodeDevice(protocol, device));
      state = mount(device);
    }
    const step = reduce(protocol, state!, event);
    state = step.state;
    for (const effect of step.effects) {
      if (effect.type === "tick") journal.tick();
      if (effect.type !== "persist") continue;
      const payload = encodeDevice(protocol, effect.device);
      payloadBytes = Math.max(payloadBytes, payload.length);
      journal.append(payload, effect);
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

export async function run(): Promise<void> {
  const rows: Cell[][] = [];
  let worst = Infinity;
  for (const [chipName, chip, blocks] of [
    ["nrf52", NRF52, 2],
    ["esp32", ESP32, 4],
  ] as const) {
    for (const protocolName of PROTOCOLS) {
      const base = simulate(protocolName, chip, blocks, BOOTS_PER_DAY);
      const years = chip.eraseCycles / base.erasesPerBlockDay / DAYS_PER_YEAR;
      worst = Math.min(worst, years);
      const t = base.tally;
      rows.push([
        `${chipName}, ${protocolName} (${base.payloadBytes} B state)`,
        blocks,
        Math.round((t.checkpoint.bytes + t.code.bytes + t.boot.bytes) / SIMULATED_DAYS),
        base.erasesPerBlockDay,
        years,
        `${LEASE_MS / 1000} s`,
      ]);
    }
  }
  printTable(
    `Journal v2 wear at ${CODES_PER_DAY} codes/day, ${BOOTS_PER_DAY} power cuts/day, 24 h of load a day (real ledger)`,
    ["board, protocol", "4 KB blocks", "bytes/day", "erases/block/day", "years", "worst loss per cut"],
    rows,
    [
      `credit clock: one tally word per minute of load (docs/SPEC.md, "Tally"); a cut loses at most the running minute`,
      "before (journal v1): a 15-minute lease per record: a cut lost up to 15 min (29-42 years on nrf52 at 4-20 " +
        "boots/day, the v1 bench)",
      `limiter checkpoints every ${CHECKPOINT_INTERVAL_MS / 60_000} min while a bucket refills; rows below 5,760 ` +
        "bytes/day ran out of credit part of the time (Nexus codes sold here are shorter): OpenPAYGO is the full-load row",
      `target: >= ${TARGET_YEARS} years: ${worst >= TARGET_YEARS ? "met" : "NOT MET"} (worst: ${worst.toFixed(1)} years)`,
      `${SIMULATED_DAYS} simulated days; years = erase cycles / erases of the most-erased block per day / 365.25`,
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
      const perBlock = Math.floor(NRF52.blockLength / packedBytes(payload));
      await xs.call("prepare", 2 * perBlock - 1, payload);
      const mount = (await xs.call<number>("mountPrepared")).compute;
      const both = (await xs.call<number>("mountAndAppend", payload)).compute;
      rows.push([`${packedBytes(payload)} B records, ${2 * perBlock - 1} in 2 blocks`, mount, both - mount]);
    }
  } finally {
    await xs.close();
  }
  return rows;
}

function _zero(): _Tally {
  return { count: 0, records: 0, bytes: 0, erases: 0 };
}
