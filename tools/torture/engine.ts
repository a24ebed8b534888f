// The power-cut campaign (issue 5, "solkey torture"): runs a device workload on the journal over the NOR simulator
// and the OTP model, cuts power at every program, erase and OTP write with every tear model, plus random double
// cuts, and checks the invariants (journal v2: records and tally minutes, docs/SPEC.md).
import type { NorFlash } from "../../firmware/storage/flash";
import { Journal, journalKey, type Mounted, type Spend } from "../../firmware/storage/journal";
import type { Otp } from "../../firmware/storage/otp";
import { bytesToHex } from "../../firmware/hex";
import type { ChipProfile } from "../../firmware/storage/flash";
import { NorSim, PowerCut, TEARS, type NorImage, type Tear } from "../../hosts/node/nor";
import { Random } from "../../hosts/node/nor-random";
import { OtpSim } from "../../hosts/node/otp";

/** The device key of every torture device (its journal key is derived from it as on a chip). */
export const TORTURE_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

/** What one operation of the device does: its next RAM state, what it commits first, the codes it applies. */
export interface Transition<M> {
  readonly machine: M;
  /** The payload committed as one journal record before anything is shown; absent when the state did not change. */
  readonly commit?: Uint8Array;
  /** Codes the commit applies and minutes its payload charges instead of tally words (the anchor counts both). */
  readonly codes?: number;
  readonly minutes?: number;
  /** Minutes charged in the journal's tally, one at a time, when there is no record to commit. */
  readonly ticks?: number;
  /** Codes shown as applied once the commit is done; a code may be applied once in a device's life. */
  readonly applied?: readonly string[];
}

/** A device state as the journal holds it: a payload and the minutes charged since (SPEC.md, "Tally"). */
export interface Held {
  readonly payload: Uint8Array;
  readonly minutes: number;
}

/**
 * A device and its user, as the campaign drives them. `M` is the device's RAM state (immutable), `Op` what the
 * user or the world does next. The first operation is always a power-on.
 */
export interface Workload<M, Op> {
  readonly name: string;
  /** The record provisioning writes before the device leaves the factory. */
  readonly genesis: Uint8Array;
  readonly operations: readonly Op[];
  describe(op: Op): string;
  /** Whether `op` is a power-on: the device remounts the journal and boots from what it finds. */
  isPowerOn(op: Op): boolean;
  /** The payload of the state `held` stands for (the payload less its minutes), or undefined when unreadable. */
  fold(held: Held): Uint8Array | undefined;
  /** Boots from a folded payload; undefined when the payload is not a state this device can read. */
  boot(payload: Uint8Array): Transition<M> | undefined;
  step(machine: M, op: Op): Transition<M>;
  /** After a cut during `op`, whether the user does it again (retypes a code) rather than moving on. */
  retry(op: Op): boolean;
  /**
   * Workload invariants of a state mounted after a cut (folded payloads), given the committed state before the
   * interrupted commit, the one it was writing, the RAM state before the interrupted operation, and its index.
   */
  audit(mounted: Uint8Array, before: Uint8Array, after: Uint8Array, machine: M | undefined, index: number): string[];
}

/** The journal as the campaign uses it. */
export interface TortureJournal {
  readonly mounted: Mounted;
  readonly migrated: boolean;
  append(payload: Uint8Array, spend?: Spend): void;
  tick(): void;
  migrate(payload: Uint8Array): void;
}

/** Journal.mount by default, a broken one in the tests that prove the campaign fails. */
export type MountJournal = (flash: NorFlash, otp: Otp) => TortureJournal;

/** The real journal under the torture key. */
export const realJournal: MountJournal = (flash, otp) => Journal.mount(flash, { key: journalKey(TORTURE_KEY), otp });

export interface CampaignOptions {
  readonly chip: ChipProfile;
  readonly blocks: number;
  readonly seed: number;
  /** Random double cuts that land (the second cut falls during recovery or the operation after it). */
  readonly doubleCuts: number;
  /** Operations run after a cut before the final check; Infinity runs the workload to its end. */
  readonly continueOps: number;
  /** Only these tear models (default all five). */
  readonly tears?: readonly Tear[];
  /** Only this cut (mutation number of the uncut run, with `tears` of one model): reproduces one reported case. */
  readonly onlyCut?: number;
  /** With onlyCut: the second cut of a reported double cut. */
  readonly onlySecond?: SecondCut;
  readonly mountJournal?: MountJournal;
  /** OTP bits the device has (default 4096: a step every ~43 h of load or 18 codes, so workloads take steps). */
  readonly otpSize?: number;
}

/** A second cut: the `cut`-th program or erase after the first cut's power-on. */
export interface SecondCut {
  readonly cut: number;
  readonly tear: Tear;
}

export interface Violation {
  /** Reproduces the case: `seed=17 cut=42 tear=subset` (plus `cut2=... tear2=...` for a double cut). */
  readonly id: string;
  readonly operation: string;
  readonly message: string;
}

export interface CampaignReport {
  readonly workload: string;
  readonly operations: number;
  /** Programs, erases and OTP bit writes in the uncut run: the single cut points. */
  readonly cutPoints: number;
  /** OTP bits the uncut run set (the mark and anchor steps), each one of the cut points. */
  readonly otpWrites: number;
  readonly tears: readonly Tear[];
  readonly singleCuts: number;
  readonly doubleCuts: number;
  readonly violations: readonly Violation[];
  readonly ms: number;
}

/** The device's side of a run: RAM, the last committed state, the codes applied so far. */
interface _Device<M> {
  machine: M | undefined;
  committed: Held;
  /** The state being committed: what "after" is if power fails now. */
  writing: Held | undefined;
  applied: Set<string>;
}

interface _Snapshot<M> {
  readonly image: NorImage;
  readonly otp: Uint8Array;
  readonly machine: M | undefined;
  readonly committed: Held;
  readonly applied: ReadonlySet<string>;
  /** Mutations of the uncut run before this operation. */
  readonly mutations: number;
}

/** The chip a case runs on: flash and OTP on one supply (a cut can land on either). */
interface _Chip {
  readonly flash: NorSim;
  readonly otp: OtpSim;
}

class _Violated extends Error {}

/** OTP bits a campaign device has: a step every ~43 h of load or 18 codes, so workloads take steps. */
export const DEFAULT_OTP_SIZE = 4096;

/** Runs the whole campaign and reports; never throws for a violation (they are in the report). */
export function runCampaign<M, Op>(workload: Workload<M, Op>, options: CampaignOptions): CampaignReport {
  const started = Date.now();
  const tears = options.tears ?? TEARS;
  const mountJournal = options.mountJournal ?? realJournal;
  const ops = workload.operations;
  if (ops.length === 0 || !workload.isPowerOn(ops[0])) throw new RangeError("a workload starts with a power-on");

  // The uncut run: a snapshot before every operation, so each case starts where its cut falls.
  const snapshots: _Snapshot<M>[] = [];
  const flash = new NorSim({ chip: options.chip, blocks: options.blocks, seed: options.seed });
  const reference: _Chip = { flash, otp: new OtpSim(options.otpSize ?? DEFAULT_OTP_SIZE, options.seed, flash) };
  mountJournal(flash, reference.otp).append(workload.genesis); // provisioning, on an erased flash: not a cut point
  const formatMutations = flash.mutations;
  const genesis = { payload: workload.genesis, minutes: 0 };
  const device: _Device<M> = { machine: undefined, committed: genesis, writing: undefined, applied: new Set() };
  let journal = mountJournal(flash, reference.otp);
  const snapshot = (): _Snapshot<M> => ({
    ..._copy(device),
    image: copyImage(flash.image),
    otp: reference.otp.snapshot(),
    mutations: flash.mutations - formatMutations,
  });
  for (let index = 0; index < ops.length; index++) {
    snapshots.push(snapshot());
    try {
      journal = _execute(workload, ops[index], device, journal, reference, mountJournal);
    } catch (e) {
      if (!(e instanceof _Violated)) throw e;
      // The device breaks its invariants without any cut: nothing else is worth running.
      const operation = `#${index} ${workload.describe(ops[index])}`;
      const violations = [{ id: `seed=${options.seed} uncut`, operation, message: e.message }];
      return { ...report(0, 0, 0), violations };
    }
  }
  snapshots.push(snapshot());
  const cutPoints = flash.mutations - formatMutations;
  if (options.onlyCut !== undefined && !(options.onlyCut >= 1 && options.onlyCut <= cutPoints))
    throw new RangeError(
      `"onlyCut" expected 1..${cutPoints} (the cut points of this workload), got ${options.onlyCut}`,
    );

  const violations: Violation[] = [];
  let singleCuts = 0;
  let doubleCuts = 0;
  const runCase = (cut: number, tear: Tear, second?: SecondCut): boolean => {
    const id =
      `seed=${options.seed} cut=${cut} tear=${tear}` + (second ? ` cut2=${second.cut} tear2=${second.tear}` : "");
    const outcome = _runCase(workload, options, snapshots, mountJournal, cut, tear, second);
    for (const v of outcome.violations) violations.push({ id, operation: outcome.operation, message: v });
    return outcome.secondLanded;
  };

  if (options.onlyCut !== undefined) {
    for (const tear of tears) {
      if (runCase(options.onlyCut, tear, options.onlySecond)) doubleCuts++;
      else singleCuts++;
    }
    return { ...report(cutPoints, singleCuts, doubleCuts), violations };
  }
  for (let cut = 1; cut <= cutPoints; cut++) {
    for (const tear of tears) {
      runCase(cut, tear);
      singleCuts++;
    }
  }
  const random = new Random(options.seed ^ 0x5eed_cafe);
  for (let tries = 0; doubleCuts < options.doubleCuts && tries < options.doubleCuts * 4; tries++) {
    const second = { cut: random.between(1, 3), tear: random.pick(tears) };
    if (runCase(random.between(1, cutPoints), random.pick(tears), second)) doubleCuts++;
  }
  return { ...report(cutPoints, singleCuts, doubleCuts), violations };

  function report(cutPoints: number, singleCuts: number, doubleCuts: number): CampaignReport {
    const base = {
      workload: workload.name,
      operations: ops.length,
      tears,
      otpWrites: reference.otp.writes,
      violations: [],
    };
    return { ...base, cutPoints, singleCuts, doubleCuts, ms: Date.now() - started };
  }
}

/** One case: cut at mutation `cut` of the uncut run, recover (perhaps through a second cut), continue, check. */
function _runCase<M, Op>(
  workload: Workload<M, Op>,
  options: CampaignOptions,
  snapshots: readonly _Snapshot<M>[],
  mountJournal: MountJournal,
  cut: number,
  tear: Tear,
  second: SecondCut | undefined,
): { violations: string[]; operation: string; secondLanded: boolean } {
  const ops = workload.operations;
  let index = snapshots.findIndex((_, i) => i + 1 < snapshots.length && snapshots[i + 1].mutations >= cut);
  const snapshot = snapshots[index];
  const seed = (options.seed * 0x9e3779b1 + cut * 0x85ebca6b + TEARS.indexOf(tear)) >>> 0;
  const flash = new NorSim({ chip: options.chip, blocks: options.blocks, image: snapshot.image, seed });
  const chip: _Chip = { flash, otp: OtpSim.from(snapshot.otp, seed, flash) };
  const device: _Device<M> = { ..._copy(snapshot) };
  const violations: string[] = [];
  const operation = `#${index} ${workload.describe(ops[index])}`;
  let journal = mountJournal(flash, chip.otp);
  let secondLanded = false;
  try {
    flash.cut(cut - snapshot.mutations, tear);
    let cutsLeft = second ? 2 : 1;
    let powerOnNext = false;
    let end = Infinity;
    while (powerOnNext || (index < ops.length && index < end)) {
      const machine = device.machine;
      try {
        if (powerOnNext) journal = _powerOn(workload, device, chip, mountJournal);
        else journal = _execute(workload, ops[index], device, journal, chip, mountJournal);
        if (powerOnNext) powerOnNext = false;
        else index++;
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        cutsLeft--;
        if (cutsLeft === 0 && second) secondLanded = true;
        flash.powerOn(); // also disarms
        journal = _recover(workload, chip, mountJournal, device, machine, index);
        // The user powers the device on again, then retypes the code or lets time run on.
        if (!powerOnNext && !workload.retry(ops[index])) index++;
        if (end === Infinity) end = index + options.continueOps;
        if (cutsLeft === 1 && second) flash.cut(second.cut, second.tear);
        powerOnNext = true;
      }
    }
    if (cutsLeft === 2) violations.push("the cut did not land (the run is not deterministic)");
    flash.powerOn();
    // Everything committed after the cut must still be there: the final mount is the last commit.
    const final = _mountHeld(workload, mountJournal, chip);
    if (typeof final === "string") violations.push(`final mount: ${final}`);
    else if (!_same(final, _fold(workload, device.committed))) violations.push("the final mount lost a commit");
  } catch (e) {
    violations.push(e instanceof _Violated ? e.message : `threw ${(e as Error).stack ?? e}`);
  }
  return { violations, operation, secondLanded };
}

/** The recovery check after a cut: mount must work and give the state before or after the interrupted commit. */
function _recover<M, Op>(
  workload: Workload<M, Op>,
  chip: _Chip,
  mountJournal: MountJournal,
  device: _Device<M>,
  machine: M | undefined,
  index: number,
): TortureJournal {
  const before = _fold(workload, device.committed);
  const after = device.writing === undefined ? undefined : _fold(workload, device.writing);
  const mounted = _mountHeld(workload, mountJournal, chip);
  if (typeof mounted === "string") throw new _Violated(mounted);
  const isBefore = _same(mounted, before);
  const isAfter = after !== undefined && _same(mounted, after);
  const problems: string[] = [];
  if (!isBefore && !isAfter)
    problems.push(`mounted a state that is neither before nor after the cut: ${bytesToHex(mounted).slice(0, 64)}...`);
  problems.push(...workload.audit(mounted, before, after ?? before, machine, index));
  if (problems.length > 0) throw new _Violated(problems.join("; "));
  device.committed = { payload: mounted, minutes: 0 };
  device.writing = undefined;
  device.machine = undefined;
  return mountJournal(chip.flash, chip.otp);
}

/** Runs one operation, committing it; a power cut propagates with the device as it was before. */
function _execute<M, Op>(
  workload: Workload<M, Op>,
  op: Op,
  device: _Device<M>,
  journal: TortureJournal,
  chip: _Chip,
  mountJournal: MountJournal,
): TortureJournal {
  if (workload.isPowerOn(op)) return _powerOn(workload, device, chip, mountJournal);
  if (device.machine === undefined) throw new Error("an operation before the first power-on");
  _commit(workload.step(device.machine, op), device, journal);
  return journal;
}

/** Power-on as firmware/controller.ts does it: mount, migrate (a v2 record, then the OTP mark), boot. */
function _powerOn<M, Op>(
  workload: Workload<M, Op>,
  device: _Device<M>,
  chip: _Chip,
  mountJournal: MountJournal,
): TortureJournal {
  const journal = mountJournal(chip.flash, chip.otp);
  const mounted = journal.mounted;
  if (mounted.kind !== "record") throw new _Violated(`power-on mounted ${mounted.kind}`);
  const payload = workload.fold(mounted);
  if (payload === undefined) throw new _Violated("power-on: the mounted record does not decode");
  device.machine = undefined;
  if (!journal.migrated) {
    device.writing = { payload, minutes: 0 }; // the same state: a cut here mounts it either way
    journal.migrate(payload);
    device.committed = device.writing;
    device.writing = undefined;
  }
  const booted = workload.boot(payload);
  if (booted === undefined) throw new _Violated("power-on: the mounted record does not decode");
  _commit(booted, device, journal);
  return journal;
}

/** Commits a transition (a record, or tally minutes one by one), then shows its codes applied (once each). */
function _commit<M>(transition: Transition<M>, device: _Device<M>, journal: TortureJournal): void {
  if (transition.commit !== undefined) {
    device.writing = { payload: transition.commit, minutes: 0 };
    journal.append(transition.commit, { codes: transition.codes ?? 0, minutes: transition.minutes ?? 0 });
    device.committed = device.writing;
    device.writing = undefined;
  }
  for (let i = 0; i < (transition.ticks ?? 0); i++) {
    device.writing = { ...device.committed, minutes: device.committed.minutes + 1 };
    journal.tick();
    device.committed = device.writing;
    device.writing = undefined;
  }
  device.machine = transition.machine;
  for (const code of transition.applied ?? []) {
    if (device.applied.has(code)) throw new _Violated(`code ${code} applied twice`);
    device.applied.add(code);
  }
}

/** The mounted state, folded (payload less its minutes), or what went wrong (threw, fresh, corrupt, unreadable). */
function _mountHeld<M, Op>(workload: Workload<M, Op>, mountJournal: MountJournal, chip: _Chip): Uint8Array | string {
  let mounted: Mounted;
  try {
    mounted = mountJournal(chip.flash, chip.otp).mounted;
  } catch (e) {
    return `mount threw ${(e as Error).message}`;
  }
  if (mounted.kind !== "record") return `mount found ${mounted.kind}`;
  // Every committed state decodes (_fold), so a record that does not is neither before nor after any commit.
  return workload.fold(mounted) ?? "mounted a record that is neither before nor after any commit: it does not decode";
}

function _fold<M, Op>(workload: Workload<M, Op>, held: Held): Uint8Array {
  const payload = workload.fold(held);
  if (payload === undefined) throw new Error("a committed state does not decode: a workload bug");
  return payload;
}

function _copy<M>(device: { machine: M | undefined; committed: Held; applied: ReadonlySet<string> }): _Device<M> {
  return { machine: device.machine, committed: device.committed, writing: undefined, applied: new Set(device.applied) };
}

export function copyImage(image: NorImage): NorImage {
  return {
    bytes: image.bytes.slice(),
    unstable: image.unstable.slice(),
    wordWrites: image.wordWrites.slice(),
    blockErases: image.blockErases.slice(),
  };
}

function _same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
