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
import { CHIP_OTP_BITS } from "../../hosts/node/otp";
import { AttackedDevice, chipOf, factoryChip, type Point } from "../torture/attacks";
import { copyImage } from "../torture/engine";
import {
  deviceAndServer,
  guessFor,
  ledgerDevice,
  PROTOCOLS,
  type LedgerDevice,
  type LedgerOp,
} from "../torture/ledger";
import { printTable } from "./table";

export const name = "flash";

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
/** What the attacker is assumed to spend per restore cycle: write 16 KB back, reset, type the guesses. */
const CYCLE_MINUTES = 1;
/** Probability that one guess is a code (docs/SECURITY.md, "The keypad attacker"). */
const PER_GUESS: Record<string, number> = { openpaygo: 1.34e-4, "nexus-full": 1e-6, "nexus-small": 2 ** -12 };

/** A board as the simulator models it: flash profile, journal blocks, the OTP bits its `otp` module lends. */
interface Board {
  readonly name: string;
  readonly chip: ChipProfile;
  readonly blocks: number;
  readonly otpBits: number;
}

const BOARDS: readonly Board[] = [
  { name: "ESP32 (BLK3 coding None)", chip: ESP32, blocks: 4, otpBits: CHIP_OTP_BITS.esp32 },
  { name: "nRF52840 (UICR)", chip: NRF52, blocks: 2, otpBits: CHIP_OTP_BITS.nrf52 },
];

type Machine = LedgerState<unknown>;

/** A chip as it stands now: flash image, OTP bits, the device's RAM. */
interface Saved extends Pick<Point, "image" | "otp"> {
  readonly machine: Machine;
}

/** The OpenPAYGO device and its server, which sells codes of `days` (set or add) at the next counts. */
function _openPaygo() {
  const key = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i);
  const startingCode = 271_828_182;
  const protocol = openPaygo({ key, startingCode, timeDivider: 1, restricted: false }) as KeycodeProtocol<unknown>;
  const issuer = new TokenIssuer({ key, startingCode });
  let count = 1;
  const tokens = new Set<string>();
  const code = (type: "set_time" | "add_time", days: number): LedgerOp => {
    for (;;) {
      const issued = issuer.issue({ count, type, value: days });
      count = issued.count;
      // Thousands of 9-digit tokens meet the birthday bound (count 2,300 repeats count 1,510's digits): the device
      // takes both, but the attacker's bookkeeping counts digits, so such a token is skipped.
      if (tokens.has(issued.token)) continue;
      tokens.add(issued.token);
      return { type: "entry", digits: issued.token, pays: days * 86_400, note: type };
    }
  };
  return { ledger: ledgerDevice(protocol), code };
}

/** A device provisioned on `board`, booted once (the mark set). */
function _provisioned(ledger: LedgerDevice, board: Board): AttackedDevice {
  const { flash, otp } = factoryChip(ledger, board.chip, board.blocks, board.otpBits);
  const device = new AttackedDevice(ledger, flash, otp);
  device.powerOn();
  return device;
}

const save = (d: AttackedDevice): Saved => ({
  image: copyImage(d.flash.image),
  otp: d.otp.snapshot(),
  machine: d.machine as Machine,
});

/** The chip's journal written back to `saved`, its OTP bits `otp` (as they are now), powered on; locked: undefined. */
function _writeBack(ledger: LedgerDevice, board: Board, saved: Saved, otp: Uint8Array): AttackedDevice | undefined {
  const back = chipOf(board.chip, board.blocks, saved.image, otp);
  const device = new AttackedDevice(ledger, back.flash, back.otp);
  return device.powerOn() ? device : undefined;
}

/** `_writeBack` where no step was taken since `saved`: it must boot. */
function _restore(ledger: LedgerDevice, board: Board, saved: Saved, otp: Uint8Array): AttackedDevice {
  const device = _writeBack(ledger, board, saved, otp);
  if (device === undefined) throw new Error("a restore with no step since came up locked");
  return device;
}

/**
 * Runs `next()` on `d` until it would take an anchor step (the attacker reads the step's progress in the plaintext
 * journal and stops one operation before), then writes `saved` back. Returns the chip as it was before that
 * operation, the restored device, and the operations run.
 */
function _cycle(d: AttackedDevice, board: Board, saved: Saved, next: () => LedgerOp) {
  const count = anchorCount(d.otp);
  const ran: LedgerOp[] = [];
  for (;;) {
    const op = next();
    const before = save(d);
    d.run(op);
    if (anchorCount(d.otp) !== count) return { before, restored: _restore(d.ledger, board, saved, before.otp), ran };
    ran.push(op);
  }
}

/** Guesses a restored device verifies before its limiter makes the attacker wait (failures counted), on average. */
function _guessesPerRestore(protocol: (typeof PROTOCOLS)[number], board: Board): number {
  const random = new Random(7);
  const key = Uint8Array.from({ length: 16 }, () => random.below(256));
  const device = _provisioned(ledgerDevice(deviceAndServer(protocol, key, random).protocol), board);
  const saved = save(device);
  let total = 0;
  const cycles = 5;
  for (let cycle = 0; cycle < cycles; cycle++) {
    const d = _restore(device.ledger, board, saved, device.otp.snapshot());
    const limiter = () => (d.machine as Machine).device.limiter;
    while (limiterWaitMs(limiter()) === 0) {
      const failures = limiter().failures;
      d.run({ type: "entry", digits: guessFor(random, protocol), pays: 0, note: "guess" });
      total += limiter().failures - failures;
    }
  }
  return total / cycles;
}

export async function run(): Promise<void> {
  const rows: (string | number)[][] = [];
  const hour: LedgerOp = { type: "elapsed", ms: 60 * MINUTE };
  for (const board of BOARDS) {
    const { otpBits } = board;
    const step = anchorStep(otpBits - 1);
    const { ledger, code } = _openPaygo();
    const device = _provisioned(ledger, board);
    device.run(code("set_time", 995));
    const saved = save(device);
    // Two cycles of load: the first device runs the hour that completes the step, so the image is then dead on it.
    const days: number[] = [];
    let d = device;
    for (let i = 0; i < 2; i++) {
      const cycle = _cycle(d, board, saved, () => hour);
      days.push((remainingMs(cycle.restored.machine as Machine) - remainingMs(cycle.before.machine)) / DAY);
      d = cycle.restored;
    }
    const bits = d.otp.snapshot().filter((bit) => bit !== 0).length; // the mark alone
    // Codes: 1-day codes typed up to the step, the image written back, all of them typed again.
    const { restored, ran } = _cycle(d, board, saved, () => code("add_time", 1));
    const before = restored.applied.length;
    for (const op of ran) restored.run(op);
    const codes = restored.applied.length - before;
    const locked =
      anchorCount(device.otp) === 1 && _writeBack(ledger, board, saved, device.otp.snapshot()) === undefined;
    rows.push([
      board.name,
      otpBits - 1,
      `${(step.minutes / 1440).toFixed(1)} d / ${step.codes}`,
      days.map((n) => n.toFixed(1)).join(", "),
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
    const perRestore = _guessesPerRestore(protocol, BOARDS[0]);
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
