// Bench: the flash attacker's repeated restore (docs/SECURITY.md, "The flash attacker"), simulated per chip on the
// real journal, OTP model, ledger and protocols: one saved journal image written back again and again, each time just
// before the anchor would take its step; what each cycle gives back in credit, codes and keypad guesses.
import { limiterWaitMs } from "../../firmware/ledger/limiter";
import { remainingMs, type LedgerState } from "../../firmware/ledger/reducer";
import { anchorStep } from "../../firmware/storage/journal";
import { ESP32, NRF52, type ChipProfile } from "../../firmware/storage/flash";
import { anchorCount } from "../../firmware/storage/otp";
import { TokenIssuer } from "../../firmware/protocols/openpaygo/encoder";
import { openPaygo } from "../../firmware/protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "../../firmware/protocols/protocol";
import { Random } from "../../hosts/node/nor-random";
import { NorSim } from "../../hosts/node/nor";
import { CHIP_OTP_BITS, OtpSim } from "../../hosts/node/otp";

import { AttackedDevice, chipOf, type Point } from "../torture/attacks";
import { copyImage, realJournal } from "../torture/engine";
import { deviceAndServer, guessFor, ledgerDevice, PROTOCOLS, type LedgerOp } from "../torture/ledger";
import { printTable } from "./table";

export const name = "flash";

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
/** What the attacker is assumed to spend per restore cycle: write 16 KB back, reset, type the guesses. */
const CYCLE_MINUTES = 1;
/** Probability that one guess is a code (docs/SECURITY.md, "The keypad attacker"). */
const PER_GUESS: Record<string, number> = { openpaygo: 1.34e-4, "nexus-full": 1e-6, "nexus-small": 2 ** -12 };

const CHIPS: ReadonlyArray<readonly [string, ChipProfile, number, number]> = [
  ["ESP32 (BLK3 coding None)", ESP32, 4, CHIP_OTP_BITS.esp32],
  ["nRF52840 (UICR)", NRF52, 2, CHIP_OTP_BITS.nrf52],
];

type Machine = LedgerState<unknown>;

/** A chip as it stands now: flash image, OTP bits, the device's RAM. */
interface Saved extends Pick<Point, "image" | "otp"> {
  readonly machine: Machine;
}

/** The OpenPAYGO device and its server: the attacker bought 995 days (set) and can buy 1-day codes. */
function _openPaygo() {
  const key = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i);
  const startingCode = 271_828_182;
  const protocol = openPaygo({ key, startingCode, timeDivider: 1, restricted: false }) as KeycodeProtocol<unknown>;
  const issuer = new TokenIssuer({ key, startingCode });
  let count = 1;
  const tokens = new Set<string>();
  const code = (type: "set_time" | "add_time", days: number): LedgerOp => {
    let issued;
    // Thousands of 9-digit tokens meet the birthday bound (count 2,300 repeats count 1,510's digits): the device
    // takes both, but the attacker's bookkeeping counts digits, so such a token is skipped.
    do issued = issuer.issue({ count, type, value: days });
    while (tokens.has(issued.token) && (count = issued.count) > 0);
    count = issued.count;
    tokens.add(issued.token);
    return { type: "entry", digits: issued.token, pays: days * 86_400, note: type };
  };
  return { ledger: ledgerDevice(protocol), code };
}

/** A device provisioned on `chip` with `otpBits`, booted once (the mark set). */
function _provisioned(ledger: ReturnType<typeof ledgerDevice>, chip: ChipProfile, blocks: number, otpBits: number) {
  const flash = new NorSim({ chip, blocks, seed: 1 });
  const otp = new OtpSim(otpBits, 1, flash);
  realJournal(flash, otp).append(ledger.genesis);
  const device = new AttackedDevice(ledger, flash, otp);
  device.powerOn();
  return device;
}

const save = (d: AttackedDevice): Saved => ({
  image: copyImage(d.flash.image),
  otp: d.otp.snapshot(),
  machine: d.machine as Machine,
});

/** The chip written back to `saved` (OTP bits as they are now) and powered on; undefined when it comes up locked. */
function _restore(d: AttackedDevice, saved: Saved, chip: ChipProfile, blocks: number): AttackedDevice | undefined {
  const back = chipOf(chip, blocks, saved.image, d.otp.snapshot());
  const device = new AttackedDevice(d.ledger, back.flash, back.otp);
  return device.powerOn() ? device : undefined;
}

/**
 * Runs the load an hour at a time until the next hour would take an anchor step (the attacker reads the step's
 * progress in the plaintext journal), then writes `saved` back. Returns the days of credit the cycle gave back.
 */
function _creditCycle(d: AttackedDevice, saved: Saved, chip: ChipProfile, blocks: number) {
  const count = anchorCount(d.otp);
  for (;;) {
    const before = save(d);
    d.run({ type: "elapsed", ms: 60 * MINUTE });
    if (anchorCount(d.otp) === count) continue;
    const back = chipOf(chip, blocks, before.image, before.otp); // that hour was one too many: stop before it
    const used = new AttackedDevice(d.ledger, back.flash, back.otp);
    used.machine = before.machine;
    const restored = _restore(used, saved, chip, blocks);
    if (restored === undefined) throw new Error("a restore within the step came up locked");
    const gained = remainingMs(restored.machine as Machine) - remainingMs(before.machine);
    return { restored, days: gained / DAY };
  }
}

/** Types bought 1-day codes until the next would take a step, writes `saved` back, types them all again. */
function _codeCycle(d: AttackedDevice, saved: Saved, chip: ChipProfile, blocks: number, code: () => LedgerOp) {
  const count = anchorCount(d.otp);
  const typed: LedgerOp[] = [];
  for (;;) {
    const next = code();
    const before = save(d);
    d.run(next);
    if (anchorCount(d.otp) !== count) {
      const back = chipOf(chip, blocks, before.image, before.otp);
      d = new AttackedDevice(d.ledger, back.flash, back.otp);
      d.machine = before.machine;
      break;
    }
    typed.push(next);
  }
  const restored = _restore(d, saved, chip, blocks);
  if (restored === undefined) throw new Error("a restore within the step came up locked");
  const applied = restored.applied.length;
  for (const op of typed) restored.run(op);
  return restored.applied.length - applied;
}

/** Guesses a restored device verifies before its limiter makes the attacker wait (failures counted). */
function _guessesPerRestore(protocol: (typeof PROTOCOLS)[number], chip: ChipProfile, blocks: number, otp: number) {
  const random = new Random(7);
  const key = Uint8Array.from({ length: 16 }, () => random.below(256));
  const ledger = ledgerDevice(deviceAndServer(protocol, key, random).protocol);
  const device = _provisioned(ledger, chip, blocks, otp);
  const saved = save(device);
  let total = 0;
  const cycles = 5;
  for (let cycle = 0; cycle < cycles; cycle++) {
    const d = _restore(device, saved, chip, blocks);
    if (d === undefined) throw new Error("a restore with no step since came up locked");
    while (limiterWaitMs((d.machine as Machine).device.limiter) === 0) {
      const failures = (d.machine as Machine).device.limiter.failures;
      d.run({ type: "entry", digits: guessFor(random, protocol), pays: 0, note: "guess" });
      total += (d.machine as Machine).device.limiter.failures - failures;
    }
  }
  return total / cycles;
}

export async function run(): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const [chipName, chip, blocks, otpBits] of CHIPS) {
    const step = anchorStep(otpBits - 1);
    const { ledger, code } = _openPaygo();
    const device = _provisioned(ledger, chip, blocks, otpBits);
    device.run(code("set_time", 995));
    const saved = save(device);
    const cycles = [_creditCycle(device, saved, chip, blocks)];
    cycles.push(_creditCycle(cycles[0].restored, saved, chip, blocks));
    const bits = cycles[1].restored.otp.snapshot().filter((bit) => bit !== 0).length; // the mark alone
    const codes = _codeCycle(cycles[1].restored, saved, chip, blocks, () => code("add_time", 1));
    // The first cycle's device ran the hour that completed the step: the saved image never mounts on it again.
    const locked = anchorCount(device.otp) === 1 && _restore(device, saved, chip, blocks) === undefined;
    rows.push([
      chipName,
      otpBits - 1,
      `${(step.minutes / 1440).toFixed(1)} d / ${step.codes}`,
      `${cycles[0].days.toFixed(1)}, ${cycles[1].days.toFixed(1)}`,
      codes,
      bits,
      locked ? "locked" : "MOUNTED",
      `${(((otpBits - 1) * step.minutes) / 525_960).toFixed(1)} y / ${(otpBits - 1) * step.codes}`,
    ]);
  }
  printTable(
    "flash attacker: one saved journal image restored before every anchor step (OpenPAYGO, 995 days bought)",
    [
      "chip",
      "anchor bits",
      "step: credit / codes",
      "days back per cycle",
      "codes again per cycle",
      "OTP bits set",
      "image after a step",
      "anchor life: load / codes",
    ],
    rows,
    [
      "Each cycle runs the load until the next hour would complete the step, then writes the saved image back:",
      "the credit used comes back and no OTP bit is set, so the cycles have no end (docs/SECURITY.md).",
      "Codes: 1-day codes typed until the next would complete the step, the image written back, all typed again.",
      "OTP bits set: the mark (and no anchor step) after every cycle. One hour more takes the step: the image locks.",
      "Anchor life: what the anchor counts before its last bit (sized so that 24 h of load and 10 codes a day",
      "together spend it in 10 years); after that the device runs on with the mark alone: erasing still locks it,",
      "a restored image from after the last step mounts (docs/SECURITY.md).",
    ],
  );

  const guesses: (string | number)[][] = [];
  for (const protocol of PROTOCOLS) {
    const [, chip, blocks, otpBits] = CHIPS[0];
    const perRestore = _guessesPerRestore(protocol, chip, blocks, otpBits);
    const p = PER_GUESS[protocol];
    const half = Math.ceil(Math.log(2) / -Math.log1p(-p) / perRestore);
    guesses.push([
      protocol,
      perRestore,
      `${(100 * (1 - (1 - p) ** perRestore)).toPrecision(2)} %`,
      `${(100 * (1 - (1 - p) ** 656)).toPrecision(2)} %`,
      half,
      `${((half * CYCLE_MINUTES) / 60).toFixed(0)} h`,
    ]);
  }
  printTable(
    "flash attacker: keypad guesses given back by restoring an image with a clean attempt limiter",
    [
      "protocol",
      "guesses per restore",
      "odds per restore",
      "odds in 10 y, no restores",
      "restores for 50 %",
      "at 1/min",
    ],
    guesses,
    [
      "Guesses per restore: wrong codes the device verified (failures counted) before its limiter made the attacker",
      "wait (failures 1-2 free, the third locks 2 minutes); the attacker then writes the image back instead.",
      "Without restores the limiter allows 656 guesses in 10 years of uptime (docs/SECURITY.md).",
      `The last column assumes ${CYCLE_MINUTES} minute per cycle: write the 16 KB region back, reset, type the guesses.`,
    ],
  );
}
