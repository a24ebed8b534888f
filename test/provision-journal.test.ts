// The journal image `solkey provision` writes with each device (ARCHITECTURE.md, Journal): where it goes on each
// board, that it is record 1 holding the fresh device state and nothing else, and that a power cut during the first
// code after provisioning can no longer lock a device.
import { keyed } from "./journal.helpers";
import { provisionOne } from "./fleet.helpers";
import fs from "fs";
import { LEASE_MS, mount, reduce, type LedgerState } from "../firmware/ledger/reducer";
import { decodeDevice, encodeDevice, mountedDevice } from "../firmware/ledger/codec";
import { freshState, type DeviceState } from "../firmware/ledger/state";
import { AREAS } from "../firmware/provision/board";
import type { KeycodeProtocol } from "../firmware/protocols/protocol";
import type { ProvisionRecord } from "../firmware/provision/record";
import { BOARDS } from "../firmware/provision/board";
import { CHIPS } from "../firmware/storage/flash";
import { sipKey } from "../firmware/crypto/siphash";
import { encodeRecordV2, Journal, journalKey, type JournalOptions } from "../firmware/storage/journal";
import { NorSim, PowerCut, TEARS } from "../hosts/node/nor";
import { SIM_PARTITIONS } from "../hosts/node/simdevice";
import { encodeCode, initialSeq, secretsOf } from "../fleet/codes";
import { JOURNAL_AREAS, protocolOf } from "../fleet/journal";
import { entryDigits } from "../fleet/recovery";

const PROFILES = [
  ["nexus-full", "esp32"],
  ["nexus-small", "esp32"],
  ["openpaygo", "esp32"],
  ["openpaygo", "nrf52"],
  ["nexus-full", "nrf52"],
] as const;

/** The journal region of `record`'s board on a strict NOR simulator, holding `bytes`. */
function region(record: ProvisionRecord, bytes: Uint8Array, seed = 1): NorSim {
  const chip = CHIPS[record.board];
  const blocks = bytes.length / chip.blockLength;
  const words = bytes.length / chip.writeAlignment;
  const image = {
    bytes,
    unstable: new Uint8Array(bytes.length),
    wordWrites: new Uint8Array(words),
    blockErases: new Uint32Array(blocks),
  };
  return new NorSim({ chip, blocks, image, seed });
}

describe("journal regions", () => {
  it("match the ESP32 partition table, the simulator's partitions and the nRF52 pages firmware/main.ts opens", () => {
    const csv = fs.readFileSync("hosts/moddable/esp32/partitions.csv", "utf8");
    const row = csv.split("\n").find((line) => line.startsWith("solkey_jrnl"));
    const [, , , offset, size] = (row as string).split(",").map((f) => f.trim());
    expect(JOURNAL_AREAS.esp32).toEqual({ offset: Number(offset), size: Number(size) });
    expect(JOURNAL_AREAS.esp32).toEqual({ offset: SIM_PARTITIONS.journal.offset, size: SIM_PARTITIONS.journal.size });
    expect(JOURNAL_AREAS.nrf52).toEqual(AREAS.nrf52.journal);
    // Each region ends where the provisioning area begins or below it, and holds whole erase blocks (>= 2).
    for (const board of ["esp32", "nrf52"] as const) {
      const { offset: at, size: length } = JOURNAL_AREAS[board];
      expect(at + length).toBeLessThanOrEqual(BOARDS[board].provisionOffset);
      expect(length % CHIPS[board].blockLength).toBe(0);
      expect(length / CHIPS[board].blockLength).toBeGreaterThanOrEqual(2);
    }
  });
});

describe.each(PROFILES)("the factory journal of a %s device on %s", (protocol, board) => {
  const device = provisionOne(protocol, board);
  const { record, journal } = device;
  const verifier = protocolOf(record);

  it("is the whole region: record 1 holding the protocol's fresh state at offset 0, every other byte erased", () => {
    expect(journal.length).toBe(JOURNAL_AREAS[board].size);
    // Format v2 (docs/SPEC.md): MAC'd under this device's own journal key, anchor step 0, nothing charged or spent.
    const header = { sequence: 1, carry: 0, anchor: 0, codes: 0, spent: 0 };
    const first = encodeRecordV2(encodeDevice(verifier, freshState(verifier)), header, sipKey(journalKey(record.key)));
    expect(Array.from(journal.subarray(0, first.length))).toEqual(Array.from(first));
    expect(journal.subarray(first.length).every((b) => b === 0xff)).toBe(true);
  });

  it("mounts as a record that decodes to the fresh state, not as a fresh (erased) journal", () => {
    const mounted = Journal.mount(region(record, journal.slice()), keyed({ record })).mounted;
    expect(mounted).toMatchObject({ kind: "record", sequence: 1 });
    const state = mounted.kind === "record" ? decodeDevice(verifier, mounted.payload) : undefined;
    expect(state).toEqual(freshState(verifier));
  });
});

/**
 * Power-on and the first code after provisioning, as the device core runs them (firmware/controller.ts: the v2
 * migration when due, then per ledger step one journal append per persist and one tally word per tick), on `flash`
 * under `options`. Returns the device states committed, in order.
 */
function firstCode<S>(
  protocol: KeycodeProtocol<S>,
  flash: NorSim,
  options: JournalOptions,
  digits: string,
): DeviceState<S>[] {
  const journal = Journal.mount(flash, options);
  const device = mountedDevice(protocol, journal.mounted);
  if (device === undefined) throw new Error(`journal mounted ${journal.mounted.kind}: the device is locked`);
  if (!journal.migrated) journal.migrate(encodeDevice(protocol, device));
  let ledger: LedgerState<S> = mount(device);
  const committed: DeviceState<S>[] = [];
  for (const event of [{ type: "boot" } as const, { type: "entry", digits } as const]) {
    const step = reduce(protocol, ledger, event);
    for (const effect of step.effects)
      if (effect.type === "persist") {
        journal.append(encodeDevice(protocol, effect.device), effect);
        committed.push(effect.device);
      } else if (effect.type === "tick") journal.tick();
    ledger = step.state;
  }
  return committed;
}

describe.each(PROFILES)("a power cut during the first code of a %s device on %s", (protocol, board) => {
  const { record, journal } = provisionOne(protocol, board);
  const verifier = protocolOf(record);
  const code = encodeCode(secretsOf(record), { kind: "add", seconds: 86400 }, initialSeq(record.protocol));
  const digits = entryDigits(record, code.keycode);
  const options = keyed({ record });

  const hex = (s: DeviceState<unknown>) => Buffer.from(encodeDevice(verifier, s)).toString("hex");

  /**
   * Cuts at every mutation of the uncut run with every tear, then powers on again and retypes the code. Returns
   * what each remount found, and every case (`cut=3 tear=subset`) that broke a rule.
   */
  function campaign(start: Uint8Array): { cuts: number; outcomes: string[]; bad: string[] } {
    const uncut = region(record, start.slice());
    const committed = firstCode(verifier, uncut, options, digits);
    expect(committed.length).toBeGreaterThanOrEqual(1);
    const paid = committed[committed.length - 1];
    const allowed = [freshState(verifier), ...committed].map(hex);
    const outcomes: string[] = [];
    const bad: string[] = [];
    for (let cut = 1; cut <= uncut.mutations; cut++)
      for (const tear of TEARS) {
        const id = `cut=${cut} tear=${tear}`;
        const flash = region(record, start.slice(), cut);
        flash.cut(cut, tear);
        expect(() => firstCode(verifier, flash, options, digits)).toThrow(PowerCut);
        flash.powerOn();
        const mounted = Journal.mount(flash, options).mounted;
        outcomes.push(mounted.kind);
        if (mounted.kind === "corrupt") {
          bad.push(`${id}: corrupt`);
          continue;
        }
        if (mounted.kind === "record" && !allowed.includes(Buffer.from(mounted.payload).toString("hex")))
          bad.push(`${id}: a state neither before nor after the code`);
        // Power on again and retype: the code counts once, and its credit is there less at most two leases (the
        // minute the cut lost and the boot's), the tally's minutes charged.
        firstCode(verifier, flash, options, digits);
        const state = mountedDevice(verifier, Journal.mount(flash, options).mounted);
        const credit = state?.payg.kind === "metered" ? state.payg.creditSeconds : -1;
        if (state === undefined || JSON.stringify(state.protocol) !== JSON.stringify(paid.protocol))
          bad.push(`${id}: replay state after retyping differs from the uncut run`);
        if (!(credit <= 86400 && credit >= 86400 - (2 * LEASE_MS) / 1000))
          bad.push(`${id}: credit ${credit} after retyping a code of 86400 s`);
      }
    return { cuts: uncut.mutations, outcomes, bad };
  }

  it("never leaves the journal corrupt: every cut mounts the state before or after the code, and it then applies", () => {
    const { cuts, outcomes, bad } = campaign(journal);
    expect(cuts).toBeGreaterThanOrEqual(1);
    expect(bad).toEqual([]);
    expect(outcomes.every((kind) => kind === "record")).toBe(true);
  });

  it("pins the flaw it fixes: the same cuts on an erased journal (no factory record) can lock the device", () => {
    const { outcomes } = campaign(new Uint8Array(journal.length).fill(0xff));
    expect(outcomes).toContain("corrupt");
  });
});
