// The journal's read-back retry (firmware/storage/journal.ts, invariant I2; docs/SPEC.md, "Writing"): a record that
// does not read back moves to another block, never into an erase of the block holding the newest record.
import { TEST_JOURNAL } from "./journal.helpers";
import { ESP32, NRF52, type ChipProfile, type FlashStatus, type NorFlash } from "../firmware/storage/flash";
import { Journal, JournalError, packedBytes, type Mounted } from "../firmware/storage/journal";
import { bytesToHex } from "../firmware/hex";
import { NorSim, PowerCut, TEARS, type Tear } from "../hosts/node/nor";

/**
 * Worn flash: the next `failing` writes program, but every bit they clear turns weak (reads 0 or 1 at random until
 * the next erase, P2), so they do not read back as written. Everything else is the strict simulator's.
 */
class WornFlash implements NorFlash {
  constructor(
    readonly sim: NorSim,
    public failing: number,
  ) {}

  status(): FlashStatus {
    return this.sim.status();
  }

  read(byteLength: number, byteOffset: number): ArrayBuffer {
    return this.sim.read(byteLength, byteOffset);
  }

  write(buffer: Uint8Array, byteOffset: number): void {
    this.sim.write(buffer, byteOffset);
    if (this.failing <= 0) return;
    this.failing--;
    const { unstable } = this.sim.image;
    for (let i = 0; i < buffer.length; i++) unstable[byteOffset + i] |= ~buffer[i] & 0xff;
  }

  eraseBlock(block: number): void {
    this.sim.eraseBlock(block);
  }
}

const PAYLOAD_BYTES = 60; // 96-byte v2 records: 42 fill a 4 KB block up to offset 4032, the 43rd does not fit
const PER_BLOCK = Math.floor(4096 / packedBytes(PAYLOAD_BYTES));
const payload = (i: number) => new Uint8Array(PAYLOAD_BYTES).fill(i & 0xff);
// Payloads tell the states apart; sequence numbers only grow (a mount skips past every attempt the last session
// may have torn, I1), so they are checked for order, not value.
const show = (m: Mounted) => (m.kind === "record" ? bytesToHex(m.payload.subarray(0, 1)) : m.kind);
const sequenceOf = (m: Mounted) => (m.kind === "record" ? m.sequence : -1);

interface Layout {
  readonly name: string;
  readonly chip: ChipProfile;
  readonly blocks: number;
  /** Records appended before the append under test; the newest lands in block `home`. */
  readonly records: number;
}

/** The newest record's block full (the first attempt erases) or with room, in the first block and in the last. */
function layouts(name: string, chip: ChipProfile, blocks: number): Layout[] {
  const last = PER_BLOCK * (blocks - 1);
  return [
    { name: `${name}, first block full`, chip, blocks, records: PER_BLOCK },
    { name: `${name}, first block with room`, chip, blocks, records: 10 },
    { name: `${name}, last block full`, chip, blocks, records: last + PER_BLOCK },
    { name: `${name}, last block with room`, chip, blocks, records: last + 10 },
  ];
}

const LAYOUTS = [...layouts("nRF52, 2 blocks", NRF52, 2), ...layouts("ESP32, 4 blocks", ESP32, 4)];

/** A flash holding `layout.records` records, the newest one's block and its erase count. */
function written(layout: Layout, seed = 1): { sim: NorSim; home: number } {
  const sim = new NorSim({ chip: layout.chip, blocks: layout.blocks, seed });
  const journal = Journal.mount(sim, TEST_JOURNAL);
  for (let i = 1; i <= layout.records; i++) journal.append(payload(i));
  return { sim, home: Math.floor((layout.records - 1) / PER_BLOCK) % layout.blocks };
}

describe.each(LAYOUTS)("read-back failures: $name", (layout) => {
  const previous = bytesToHex(payload(layout.records).subarray(0, 1));
  const next = bytesToHex(payload(layout.records + 1).subarray(0, 1));

  it("never erases the block holding the newest record, even when every write fails read-back", () => {
    const { sim, home } = written(layout);
    const erasesBefore = sim.image.blockErases[home];
    const flash = new WornFlash(sim, Infinity);
    const journal = Journal.mount(flash, TEST_JOURNAL);
    expect(() => journal.append(payload(layout.records + 1))).toThrow(JournalError);
    expect(() => journal.append(payload(layout.records + 1))).toThrow(/the previous state stays the newest/);
    expect(sim.image.blockErases[home]).toBe(erasesBefore);
    expect(show(journal.mounted)).toBe(previous);
    expect(show(Journal.mount(sim, TEST_JOURNAL).mounted)).toBe(previous);
    // Every other block was tried once per append: the failure is the flash's, not a give-up after one block.
    expect(sim.counters.erases).toBeGreaterThanOrEqual(2 * (layout.blocks - 1));
  });

  it("keeps appending after a JournalError once the flash writes again, without erasing the newest record", () => {
    const { sim, home } = written(layout);
    const flash = new WornFlash(sim, Infinity);
    const journal = Journal.mount(flash, TEST_JOURNAL);
    expect(() => journal.append(payload(layout.records + 1))).toThrow(JournalError);
    const erasesBefore = sim.image.blockErases[home];
    flash.failing = 0;
    journal.append(payload(layout.records + 1));
    expect(sim.image.blockErases[home]).toBe(erasesBefore);
    const mounted = Journal.mount(sim, TEST_JOURNAL).mounted;
    expect(show(mounted)).toBe(next);
    expect(sequenceOf(mounted)).toBeGreaterThan(layout.records);
  });

  it("mounts the previous or the new record after one failed read-back and a cut at any later mutation", () => {
    const base = written(layout).sim;
    let cuts = 0;
    // Enough mutations to cover the appends that retry (erase + write per block) with some to spare.
    for (const tear of TEARS)
      for (let k = 1; k <= 2 * layout.blocks + 2; k++) {
        const id = `layout="${layout.name}" tear=${tear} k=${k}`;
        const sim = new NorSim({ chip: layout.chip, blocks: layout.blocks, image: base.image, seed: k });
        const flash = new WornFlash(sim, 1);
        const journal = Journal.mount(flash, TEST_JOURNAL);
        cuts += cutAfterFailure(flash, journal, payload(layout.records + 1), k, tear) ? 1 : 0;
        sim.powerOn();
        const after = Journal.mount(sim, TEST_JOURNAL);
        expect([id, show(after.mounted)]).toEqual([id, expect.stringMatching(`^(${previous}|${next})$`)]);
        expect([id, sequenceOf(after.mounted) >= layout.records]).toEqual([id, true]);
        // The device is not locked: the next state commits.
        after.append(payload(layout.records + 2));
        const got = Journal.mount(sim, TEST_JOURNAL).mounted;
        expect([id, got.kind === "record" ? got.payload[0] : got.kind]).toEqual([id, (layout.records + 2) & 0xff]);
      }
    expect(cuts).toBeGreaterThan(0);
  });
});

/**
 * Arms a cut `k` mutations after the first write (which fails read-back) and runs the append; if it gives up with a
 * JournalError (2 blocks, nowhere else to go), the device reboots and commits the same state again, so the cut also
 * lands in that append. Returns whether the cut happened (both may end first).
 */
function cutAfterFailure(flash: WornFlash, journal: Journal, record: Uint8Array, k: number, tear: Tear): boolean {
  const { sim } = flash;
  let armed = false;
  const write = flash.write.bind(flash);
  flash.write = (buffer, byteOffset) => {
    write(buffer, byteOffset);
    if (!armed) {
      armed = true;
      sim.cut(k, tear);
    }
  };
  try {
    try {
      journal.append(record);
    } catch (e) {
      if (!(e instanceof JournalError)) throw e;
      Journal.mount(flash, TEST_JOURNAL).append(record);
    }
  } catch (e) {
    if (e instanceof PowerCut) return true;
    throw e;
  }
  return false;
}
