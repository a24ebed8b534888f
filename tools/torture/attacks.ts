// The flash attacker's campaign (issue 12, docs/SECURITY.md "The flash attacker"): at every operation boundary of a
// workload's uncut run, erase the journal region and restore every older journal image (the OTP bits stay as they
// are: they cannot be rolled back), on the real journal, ledger and protocols, and measure what came back against the
// anchor's bound (docs/SPEC.md, "Anchor and mark").
import { limiterWaitMs } from "../../firmware/ledger/limiter";
import { remainingMs, type LedgerState } from "../../firmware/ledger/reducer";
import type { ChipProfile } from "../../firmware/storage/flash";
import { anchorStep } from "../../firmware/storage/journal";
import { anchorCount } from "../../firmware/storage/otp";
import { NorSim, type NorImage } from "../../hosts/node/nor";
import { OtpSim } from "../../hosts/node/otp";
import {
  copyImage,
  DEFAULT_OTP_SIZE,
  realJournal,
  type TortureJournal,
  type Transition,
  type Violation,
} from "./engine";
import { atLeastAsStrict, type LedgerDevice, type ledgerWorkload, type LedgerOp } from "./ledger";

export type LedgerWorkload = ReturnType<typeof ledgerWorkload>;
type Machine = LedgerState<unknown>;

/** The device as firmware/controller.ts runs it: mount, migrate, boot, one record per persist, a word per tick. */
export class AttackedDevice {
  journal: TortureJournal;
  machine: Machine | undefined;
  /** Codes shown applied, in order; a code applied twice throws. */
  readonly applied: string[] = [];

  constructor(
    readonly ledger: LedgerDevice,
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
    this.commit(this.ledger.step(this.machine, op));
  }

  /** Power-on; false when the journal mounts locked (corrupt, or fresh on a marked chip), as the controller does. */
  powerOn(): boolean {
    this.machine = undefined;
    this.journal = realJournal(this.flash, this.otp);
    const mounted = this.journal.mounted;
    if (mounted.kind !== "record") return false;
    const payload = this.ledger.fold(mounted);
    if (payload === undefined) throw new Error("the mounted record does not decode");
    if (!this.journal.migrated) this.journal.migrate(payload);
    const booted = this.ledger.boot(payload);
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

/** The chip and the device as they stand between two operations of the uncut run. */
export interface Point {
  readonly image: NorImage;
  readonly otp: Uint8Array;
  readonly machine: Machine | undefined;
  readonly applied: readonly string[];
  /** Mutations (programs, erases, OTP writes) of the uncut run before this point. */
  readonly mutations: number;
}

/** A chip holding copies of `image` and `otp` (weak bits stay weak, read with `seed`). */
export function chipOf(chip: ChipProfile, blocks: number, image: NorImage, otp: Uint8Array, seed = 1) {
  const flash = new NorSim({ chip, blocks, image: copyImage(image), seed });
  return { flash, otp: OtpSim.from(otp, seed, flash) };
}

/** A chip as provisioning leaves it: the factory record on an erased journal region, OTP bits all unset. */
export function factoryChip(ledger: LedgerDevice, chip: ChipProfile, blocks: number, otpSize: number) {
  const flash = new NorSim({ chip, blocks, seed: 1 });
  const otp = new OtpSim(otpSize, 1, flash);
  realJournal(flash, otp).append(ledger.genesis);
  return { flash, otp };
}

/** The uncut run from the factory record: the chip and the device before every operation, and at the end. */
export function uncutPoints(workload: LedgerWorkload, chip: ChipProfile, blocks: number, otpSize: number): Point[] {
  const { flash, otp } = factoryChip(workload, chip, blocks, otpSize);
  const start = flash.mutations;
  const device = new AttackedDevice(workload, flash, otp);
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

/** Erases the whole journal region, as a flash programmer does. */
export function eraseJournal(flash: NorSim): void {
  for (let block = 0; block < flash.status().blocks; block++) flash.eraseBlock(block);
}

/**
 * Types every code of `codes` on `device` (booted), waiting out the attempt limiter as an attacker would (powered
 * time, so credit runs meanwhile). Returns how many applied again.
 */
export function replayCodes(device: AttackedDevice, codes: readonly string[]): number {
  let again = 0;
  for (const digits of codes) {
    const wait = limiterWaitMs((device.machine as Machine).device.limiter);
    if (wait > 0) device.run({ type: "elapsed", ms: wait });
    const before = device.applied.length;
    device.run({ type: "entry", digits, pays: 0, note: "replayed" });
    again += device.applied.length - before;
  }
  return again;
}

export interface AttackOptions {
  readonly chip: ChipProfile;
  readonly blocks: number;
  /** OTP bits the device has (default the campaign's 4096). */
  readonly otpSize?: number;
}

export interface AttackReport {
  readonly workload: string;
  /** Operation boundaries attacked (every one but the factory's, where there is nothing to roll back). */
  readonly points: number;
  /** Erase attacks: the whole region erased at a point and the device powered on. */
  readonly erases: number;
  /** Restore attacks: an older image written back at a point; `mounted` of them booted, the rest came up locked. */
  readonly restores: number;
  readonly mounted: number;
  /** Anchor steps the uncut run took: with none, no restore can cross a step (a workload too short to show it). */
  readonly steps: number;
  /** The anchor step of the attacked chip's OTP size: the bound on one restore's gain. */
  readonly step: { readonly minutes: number; readonly codes: number };
  /** The most any restore gained, in anchor steps (credit / step minutes + codes again / step codes); bound 1. */
  readonly worstSteps: number;
  /** What that restore gained: credit beyond the replaced device's (ms) and codes that applied again. */
  readonly worstGain: { readonly ms: number; readonly codes: number };
  /** Codes that applied again over all restores (each within its restore's bound). */
  readonly codesAgain: number;
  /**
   * Restores whose booted limiter let the attacker try more than the device it replaced (failures, lockout or
   * bucket given back), and the most failures one gave back: the limiter is in the record, so a rollback restores
   * it too (docs/SECURITY.md, "The flash attacker": not bounded by the anchor).
   */
  readonly limiterBack: number;
  readonly failuresBack: number;
  readonly violations: readonly Violation[];
  readonly ms: number;
}

/**
 * At every point of the workload's uncut run: erase the region (the device must come up locked) and restore each
 * older image with the chip's OTP bits of now (it must come up locked, or gain at most one anchor step of credit
 * and codes after replaying every code applied since the image). Never throws for a violation.
 */
export function runAttacks(workload: LedgerWorkload, options: AttackOptions): AttackReport {
  const started = Date.now();
  const { chip, blocks } = options;
  const otpSize = options.otpSize ?? DEFAULT_OTP_SIZE;
  const step = anchorStep(otpSize - 1);
  const points = uncutPoints(workload, chip, blocks, otpSize);
  const violations: Violation[] = [];
  let erases = 0;
  let restores = 0;
  let mounted = 0;
  let worstSteps = 0;
  let worstGain = { ms: 0, codes: 0 };
  let codesAgain = 0;
  let limiterBack = 0;
  let failuresBack = 0;
  for (let i = 1; i < points.length; i++) {
    const now = points[i];
    const operation = i < workload.operations.length ? `before #${i}` : "at the end";
    const erased = chipOf(chip, blocks, now.image, now.otp);
    eraseJournal(erased.flash);
    erases++;
    if (new AttackedDevice(workload, erased.flash, erased.otp).powerOn())
      violations.push({ id: `attack=erase point=${i}`, operation, message: "an erased journal booted" });
    if (now.machine === undefined) continue; // between a cut and a power-on: nothing booted to compare with
    for (let j = 1; j < i; j++) {
      const id = `attack=restore point=${i} image=${j}`;
      const restored = chipOf(chip, blocks, points[j].image, now.otp);
      const device = new AttackedDevice(workload, restored.flash, restored.otp);
      restores++;
      try {
        if (!device.powerOn()) continue;
        mounted++;
        const booted = (device.machine as Machine).device.limiter;
        const limiter = now.machine.device.limiter;
        if (!atLeastAsStrict(booted, limiter)) {
          limiterBack++;
          failuresBack = Math.max(failuresBack, limiter.failures - booted.failures);
        }
        // The attacker types the codes used since the image (older ones are used in it too).
        const again = replayCodes(device, now.applied.slice(points[j].applied.length));
        codesAgain += again;
        const gainMs = Math.max(0, remainingMs(device.machine as Machine) - remainingMs(now.machine));
        const steps = gainMs / (step.minutes * 60_000) + again / step.codes;
        if (steps > worstSteps) {
          worstSteps = steps;
          worstGain = { ms: gainMs, codes: again };
        }
        if (steps > 1)
          violations.push({ id, operation, message: `${again} codes again and ${gainMs} ms gained: over one step` });
      } catch (e) {
        violations.push({ id, operation, message: `threw ${(e as Error).message}` });
      }
    }
  }
  return {
    workload: workload.name,
    points: points.length - 1,
    erases,
    restores,
    mounted,
    steps: anchorCount(OtpSim.from(points[points.length - 1].otp)),
    step,
    worstSteps,
    worstGain,
    codesAgain,
    limiterBack,
    failuresBack,
    violations,
    ms: Date.now() - started,
  };
}
