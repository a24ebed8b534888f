// Probe: the journal over the NOR simulator with power cuts, identical under Node (imported) and XS (bundled).
import { NRF52 } from "../../firmware/storage/flash";
import { Journal, journalKey } from "../../firmware/storage/journal";
import { NO_OTP } from "../../firmware/storage/otp";
import { bytesToHex } from "../../firmware/hex";
import { NorSim, PowerCut, TEARS } from "../../hosts/node/nor";

/** The journal options of test/journal.helpers.ts (bundled here: a probe imports nothing from test/). */
const TEST_JOURNAL = { key: journalKey(Uint8Array.from({ length: 16 }, (_, i) => i)), otp: NO_OTP };

/**
 * Appends `records` payloads, cutting power every `cutEvery`-th mutation with the tears in turn, remounting after
 * each cut; returns every mount's result and the flash counters.
 */
export function tortureRun(records: number, cutEvery: number, seed: number): string[] {
  const flash = new NorSim({ chip: NRF52, blocks: 2, seed });
  Journal.format(flash, Uint8Array.of(0), TEST_JOURNAL);
  let journal = Journal.mount(flash, TEST_JOURNAL);
  const log: string[] = [];
  let tear = 0;
  for (let i = 1; i <= records; i++) {
    if (i % cutEvery === 0) flash.cut(1, TEARS[tear++ % TEARS.length]);
    try {
      journal.append(Uint8Array.from({ length: 20 + (i % 30) }, (_, j) => (i + j) & 0xff));
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      flash.powerOn();
      journal = Journal.mount(flash, TEST_JOURNAL);
      const m = journal.mounted;
      log.push(m.kind === "record" ? `${m.sequence}:${bytesToHex(m.payload)}` : m.kind);
    }
  }
  const { programs, erases, bytesProgrammed } = flash.counters;
  log.push(`programs=${programs} erases=${erases} bytes=${bytesProgrammed}`);
  return log;
}

/** Mounts `hex` as the first bytes of an otherwise erased region: the result's kind. */
export function mountImage(hex: string): string {
  const flash = new NorSim({ chip: NRF52, blocks: 2 });
  for (let i = 0; i < hex.length / 2; i++) flash.image.bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
  return Journal.mount(flash, TEST_JOURNAL).mounted.kind;
}

let _prepared: NorSim | undefined;

/** Fills a 2-block journal with `records` records of `payloadBytes` (kept for mountPrepared and appendPrepared). */
export function prepare(records: number, payloadBytes: number): number {
  _prepared = new NorSim({ chip: NRF52, blocks: 2 });
  const journal = Journal.mount(_prepared, TEST_JOURNAL);
  for (let i = 0; i < records; i++) journal.append(new Uint8Array(payloadBytes).fill(i));
  return _prepared.counters.erases;
}

/** One boot's mount of the prepared journal: its sequence number. */
export function mountPrepared(): number {
  const m = Journal.mount(_prepared!, TEST_JOURNAL).mounted;
  return m.kind === "record" ? m.sequence : -1;
}

/** One append of a `payloadBytes` record to the prepared journal (mount excluded by the caller's subtraction). */
export function mountAndAppend(payloadBytes: number): number {
  const journal = Journal.mount(_prepared!, TEST_JOURNAL);
  journal.append(new Uint8Array(payloadBytes));
  return _prepared!.counters.programs;
}
