// The flash attacker of issue 12 at every point of a workload, on the real journal, ledger and protocols: erasing
// the journal, forging a record and restoring older images, after a weak-bit power cut at every cut point too.
import { limiterWaitMs } from "../firmware/ledger/limiter";
import { remainingMs, type LedgerState } from "../firmware/ledger/reducer";
import { sipKey } from "../firmware/crypto/siphash";
import { ESP32, NRF52, type ChipProfile } from "../firmware/storage/flash";
import { anchorStep, encodeRecordV2, journalKey, type Mounted } from "../firmware/storage/journal";
import { anchorCount } from "../firmware/storage/otp";
import { NorSim, PowerCut, type NorImage } from "../hosts/node/nor";
import { OtpSim } from "../hosts/node/otp";
import { realJournal, type TortureJournal, type Transition } from "../tools/torture/engine";
import { ledgerWorkload, type LedgerOp, type TortureProtocol } from "../tools/torture/ledger";

/** 4,096 OTP bits (the torture default): a step every 2,569 minutes or 18 codes, so a workload takes several. */
const OTP_BITS = 4096;
const STEP = anchorStep(OTP_BITS - 1);

type Workload = ReturnType<typeof ledgerWorkload>;
type Machine = LedgerState<unknown>;

/** The device as firmware/controller.ts runs it: mount, migrate, boot, one record per persist, a word per tick. */
class Device {
  journal: TortureJournal;
  machine: Machine | undefined;
  /** Codes shown applied, in order; a code applied twice throws. */
  readonly applied: string[] = [];

  constructor(
    readonly workload: Workload,
    readonly flash: NorSim,
    readonly otp: OtpSim,
  ) {
    this.journal = realJournal(flash, otp);
  }

  run(op: LedgerOp): void {
    if (op.type === "power_on") {
      this.powerOn();
      return;
    }
    if (this.machine === undefined) throw new Error("an operation before the first power-on");
    this.commit(this.workload.step(this.machine, op));
  }

  /** Power-on; false when the journal mounts locked (corrupt), as the controller then takes no codes. */
  powerOn(): boolean {
    this.machine = undefined;
    this.journal = realJournal(this.flash, this.otp);
    const mounted = this.journal.mounted;
    if (mounted.kind !== "record") return false;
    const payload = this.workload.fold(mounted);
    if (payload === undefined) throw new Error("the mounted record does not decode");
    if (!this.journal.migrated) this.journal.migrate(payload);
    const booted = this.workload.boot(payload);
    if (booted === undefined) throw new Error("the mounted record does not boot");
    this.commit(booted);
    return true;
  }

  private commit(t: Transition<Machine>): void {
    if (t.commit !== undefined) this.journal.append(t.commit, { codes: t.codes ?? 0, minutes: t.minutes ?? 0 });
    for (let i = 0; i < (t.ticks ?? 0); i++) this.journal.tick();
    this.machine = t.machine;
    for (const code of t.applied ?? []) {
      if (this.applied.includes(code)) throw new Error(`code ${code} applied twice`);
      this.applied.push(code);
    }
  }
}

/** The chip as it stands between operations of the uncut run. */
interface Point {
  readonly image: NorImage;
  readonly otp: Uint8Array;
  readonly machine: Machine | undefined;
  readonly applied: readonly string[];
  /** Mutations of the uncut run before this point. */
  readonly mutations: number;
}

function copyImage(image: NorImage): NorImage {
  return {
    bytes: image.bytes.slice(),
    unstable: image.unstable.slice(),
    wordWrites: image.wordWrites.slice(),
    blockErases: image.blockErases.slice(),
  };
}

function chipOf(chip: ChipProfile, blocks: number, image: NorImage, otp: Uint8Array, seed = 1) {
  const flash = new NorSim({ chip, blocks, image: copyImage(image), seed });
  return { flash, otp: OtpSim.from(otp, seed, flash) };
}

/** The uncut run from the factory record: the chip and the device before every operation, and at the end. */
function uncut(workload: Workload, chip: ChipProfile, blocks: number): Point[] {
  const flash = new NorSim({ chip, blocks, seed: 1 });
  const otp = new OtpSim(OTP_BITS, 1, flash);
  realJournal(flash, otp).append(workload.genesis); // provisioning
  const start = flash.mutations;
  const device = new Device(workload, flash, otp);
  const points: Point[] = [];
  const point = (): Point => ({
    image: copyImage(flash.image),
    otp: otp.snapshot(),
    machine: device.machine,
    applied: [...device.applied],
    mutations: flash.mutations - start,
  });
  for (const op of workload.operations) {
    points.push(point());
    device.run(op);
  }
  points.push(point());
  return points;
}

const show = (m: Mounted) => (m.kind === "record" ? `${Buffer.from(m.payload).toString("hex")}+${m.minutes}` : m.kind);

/** Erases the whole journal region: a marked device comes up locked. */
function erased(flash: NorSim): void {
  for (let block = 0; block < flash.status().blocks; block++) flash.eraseBlock(block);
}

/**
 * Writes a record MAC'd under a key that is not the device's (an attacker without it), with the highest sequence
 * number and the chip's anchor step, holding `payload`, into the erased tail of a block.
 */
function forge(flash: NorSim, otp: OtpSim, payload: Uint8Array): boolean {
  const header = { sequence: 0xfffffff0, carry: 0, anchor: anchorCount(otp), codes: 0, spent: 0 };
  const image = encodeRecordV2(payload, header, sipKey(journalKey(new Uint8Array(16).fill(0x5a))));
  const { blocks, blockLength } = flash.status();
  for (let block = 0; block < blocks; block++) {
    const bytes = flash.image.bytes.subarray(block * blockLength, (block + 1) * blockLength);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0xff) end--;
    const at = end === 0 ? 0 : Math.ceil(end / 4) * 4 + 8; // past any cut write and the word after it
    if (at + image.length > blockLength) continue;
    flash.write(image, block * blockLength + at);
    return true;
  }
  return false;
}

/**
 * Types every code of `codes` on `device` (booted), waiting out the attempt limiter as an attacker would (powered
 * time, so credit runs meanwhile). Returns how many applied again.
 */
function replay(device: Device, codes: readonly string[]): number {
  let again = 0;
  for (const digits of codes) {
    const machine = device.machine as Machine;
    const wait = limiterWaitMs(machine.device.limiter);
    if (wait > 0) device.run({ type: "elapsed", ms: wait });
    const before = device.applied.length;
    device.run({ type: "entry", digits, pays: 0, note: "replayed" });
    again += device.applied.length - before;
  }
  return again;
}

const BOARDS = [
  ["nrf52", NRF52, 2],
  ["esp32", ESP32, 4],
] as const;
const CASES: [TortureProtocol, (typeof BOARDS)[number]][] = [
  ["nexus-full", BOARDS[0]],
  ["openpaygo", BOARDS[1]],
];

describe.each(CASES)("the flash attacker against a %s device on %j", (protocol, [, chip, blocks]) => {
  const workload = ledgerWorkload(protocol, 11, 60);
  const points = uncut(workload, chip, blocks);

  it("the workload takes anchor steps, so rollbacks across a step are tried", () => {
    const last = OtpSim.from(points[points.length - 1].otp);
    expect(anchorCount(last)).toBeGreaterThanOrEqual(2);
    expect(points[points.length - 1].applied.length).toBeGreaterThan(5);
  });

  it("erasing the journal at any point leaves the device locked: no code applies, no credit", () => {
    for (let i = 1; i < points.length; i++) {
      const { flash, otp } = chipOf(chip, blocks, points[i].image, points[i].otp);
      erased(flash);
      const device = new Device(workload, flash, otp);
      expect([i, device.powerOn()]).toEqual([i, false]);
    }
  });

  it("a forged record at any point never mounts: the device mounts what it wrote", () => {
    for (let i = 1; i < points.length; i++) {
      const { flash, otp } = chipOf(chip, blocks, points[i].image, points[i].otp);
      const honest = show(realJournal(flash, otp).mounted);
      const generous = workload.genesis.slice();
      generous[0] ^= 0xff; // any payload: the MAC, not the content, is what fails
      expect(forge(flash, otp, generous)).toBe(true);
      expect([i, show(realJournal(flash, otp).mounted)]).toEqual([i, honest]);
    }
  });

  it("restoring any older image gains at most one anchor step of credit and codes (docs/DESIGN.md)", () => {
    let mountedOlder = 0;
    let refused = 0;
    let worst = 0;
    for (let i = 2; i < points.length; i++) {
      const now = points[i];
      if (now.machine === undefined) continue; // between a cut and a power-on: nothing to compare with
      for (let j = 1; j < i; j++) {
        const { flash, otp } = chipOf(chip, blocks, points[j].image, now.otp);
        const device = new Device(workload, flash, otp);
        if (!device.powerOn()) {
          refused++;
          continue;
        }
        mountedOlder++;
        const again = replay(device, now.applied);
        const gainMs = remainingMs(device.machine as Machine) - remainingMs(now.machine);
        // One step is minutes / stepMinutes + codes / stepCodes < 1 of consumption; the replay shows what came back.
        const weight = Math.max(0, gainMs) / (STEP.minutes * 60_000) + again / STEP.codes;
        worst = Math.max(worst, weight);
        if (weight > 1) throw new Error(`restore point ${j} at ${i}: ${again} codes again and ${gainMs} ms gained`);
      }
    }
    expect(mountedOlder).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0); // images from before a step
    expect(worst).toBeLessThanOrEqual(1);
  });

  it("after a weak-bit cut at every cut point, erasing or forging still locks or mounts only what was written", () => {
    const total = points[points.length - 1].mutations;
    let cuts = 0;
    for (let cut = 1; cut <= total; cut++) {
      const index = points.findIndex((_, k) => k + 1 < points.length && points[k + 1].mutations >= cut);
      const at = points[index];
      const { flash, otp } = chipOf(chip, blocks, at.image, at.otp, cut);
      const device = new Device(workload, flash, otp);
      device.machine = at.machine;
      device.applied.push(...at.applied);
      flash.cut(cut - at.mutations, "weak");
      try {
        for (let k = index; k < workload.operations.length; k++) device.run(workload.operations[k]);
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        cuts++;
      }
      flash.powerOn();
      const id = `cut=${cut} tear=weak`;
      const honest = realJournal(flash, otp).mounted;
      expect([id, honest.kind]).toEqual([id, "record"]);
      // Forged after the cut: still the device's own state.
      const forged = chipOf(chip, blocks, flash.image, otp.snapshot(), cut);
      forge(forged.flash, forged.otp, workload.genesis);
      expect([id, show(realJournal(forged.flash, forged.otp).mounted)]).toEqual([id, show(honest)]);
      // Erased after the cut: locked.
      const wiped = chipOf(chip, blocks, flash.image, otp.snapshot(), cut);
      erased(wiped.flash);
      expect([id, new Device(workload, wiped.flash, wiped.otp).powerOn()]).toEqual([id, false]);
      // Powered on again: no code the device showed applied applies again.
      const again = new Device(workload, flash, otp);
      expect([id, again.powerOn()]).toEqual([id, true]);
      expect([id, replay(again, device.applied)]).toEqual([id, 0]);
    }
    expect(cuts).toBe(total);
  });
});
