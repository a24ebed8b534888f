// The flash attacker of issue 12 at every point of a workload, on the real journal, ledger and protocols (every
// protocol on both boards): erasing the journal, forging a record and restoring older images (tools/torture/attacks.ts,
// also run by `solkey torture`), after a weak-bit power cut at every cut point too.
import { sipKey } from "../firmware/crypto/siphash";
import { ESP32, NRF52 } from "../firmware/storage/flash";
import { encodeRecordV2, Journal, journalKey, type Mounted } from "../firmware/storage/journal";
import { anchorCount } from "../firmware/storage/otp";
import { NorSim, PowerCut } from "../hosts/node/nor";
import { OtpSim } from "../hosts/node/otp";
import { AttackedDevice, chipOf, eraseJournal, replayCodes, runAttacks, uncutPoints } from "../tools/torture/attacks";
import { copyImage, DEFAULT_OTP_SIZE, realJournal, TORTURE_KEY } from "../tools/torture/engine";
import { ledgerWorkload, PROTOCOLS } from "../tools/torture/ledger";

/** 4,096 OTP bits (the torture default): a step every 2,569 minutes or 18 codes, so a workload takes several. */
const OTP_BITS = DEFAULT_OTP_SIZE;

const show = (m: Mounted) => (m.kind === "record" ? `${Buffer.from(m.payload).toString("hex")}+${m.minutes}` : m.kind);

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

const BOARDS = [
  ["nrf52", NRF52, 2],
  ["esp32", ESP32, 4],
] as const;
const CASES = PROTOCOLS.flatMap((protocol) => BOARDS.map((board) => [protocol, board] as const));

describe.each(CASES)("the flash attacker against a %s device on %j", (protocol, [, chip, blocks]) => {
  const workload = ledgerWorkload(protocol, 11, 60);
  const points = uncutPoints(workload, chip, blocks, OTP_BITS);

  it("the workload takes anchor steps, so rollbacks across a step are tried", () => {
    const last = OtpSim.from(points[points.length - 1].otp);
    expect(anchorCount(last)).toBeGreaterThanOrEqual(2);
    expect(points[points.length - 1].applied.length).toBeGreaterThan(5);
  });

  it("erasing at every point locks the device; restoring any older image gains at most one anchor step", () => {
    const report = runAttacks(workload, { chip, blocks, otpSize: OTP_BITS });
    expect(report.violations).toEqual([]);
    expect(report.erases).toBe(workload.operations.length);
    // Every older image at every booted point: those from before a step come up locked, the rest are measured.
    expect(report.restores).toBeGreaterThan((workload.operations.length * (workload.operations.length - 1)) / 3);
    expect(report.mounted).toBeGreaterThan(0);
    expect(report.restores - report.mounted).toBeGreaterThan(0);
    expect(report.codesAgain).toBeGreaterThan(0); // within a step, used codes do apply again: the bound is real
    expect(report.worstSteps).toBeLessThanOrEqual(1);
    expect(report.steps).toBeGreaterThanOrEqual(2);
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

  it("after a weak-bit cut at every cut point, erasing or forging still locks or mounts only what was written", () => {
    const total = points[points.length - 1].mutations;
    let cuts = 0;
    for (let cut = 1; cut <= total; cut++) {
      const index = points.findIndex((_, k) => k + 1 < points.length && points[k + 1].mutations >= cut);
      const at = points[index];
      const { flash, otp } = chipOf(chip, blocks, at.image, at.otp, cut);
      const device = new AttackedDevice(workload, flash, otp);
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
      eraseJournal(wiped.flash);
      expect([id, new AttackedDevice(workload, wiped.flash, wiped.otp).powerOn()]).toEqual([id, false]);
      // Powered on again: no code the device showed applied applies again.
      const again = new AttackedDevice(workload, flash, otp);
      expect([id, again.powerOn()]).toEqual([id, true]);
      expect([id, replayCodes(again, device.applied)]).toEqual([id, 0]);
    }
    expect(cuts).toBe(total);
  });
});

describe("once the anchor's bits are spent (docs/SECURITY.md)", () => {
  it("the device runs on with the mark alone: no more steps, an erased journal locks, an older image restores", () => {
    const workload = ledgerWorkload("nexus-full", 11, 60);
    const flash = new NorSim({ chip: NRF52, blocks: 2, seed: 1 });
    const otp = OtpSim.from(Uint8Array.from([1, 1, 1])); // the mark and both anchor bits set
    Journal.format(flash, workload.genesis, { key: journalKey(TORTURE_KEY), otp }, 2);
    const device = new AttackedDevice(workload, flash, otp);
    const images = [];
    for (const op of workload.operations) {
      device.run(op);
      images.push(copyImage(flash.image));
    }
    expect(device.applied.length).toBeGreaterThan(5);
    expect([anchorCount(otp), otp.writes]).toEqual([2, 0]); // no bit left, none written
    const first = chipOf(NRF52, 2, images[0], otp.snapshot());
    const restored = new AttackedDevice(workload, first.flash, first.otp);
    expect(restored.powerOn()).toBe(true);
    expect(replayCodes(restored, device.applied)).toBe(device.applied.length); // the image is from before any code
    const erased = chipOf(NRF52, 2, images[images.length - 1], otp.snapshot());
    eraseJournal(erased.flash);
    expect(new AttackedDevice(workload, erased.flash, erased.otp).powerOn()).toBe(false);
  });
});
