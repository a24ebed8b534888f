// The power-cut campaign (issue 5, "solkey torture"): runs a device workload on the journal over the NOR simulator,
// cuts power at every program and erase with every tear model, plus random double cuts, and checks the invariants.
import type { NorFlash } from "../../firmware/storage/flash";
import { Journal, type Mounted } from "../../firmware/storage/journal";
import { bytesToHex } from "../../firmware/hex";
import type { ChipProfile } from "../../firmware/storage/flash";
import { NorSim, PowerCut, TEARS, type NorImage, type Tear } from "../../hosts/node/nor";
import { Random } from "../../hosts/node/nor-random";

/** What one operation of the device does: its next RAM state, the record it commits first, the codes it applies. */
export interface Transition<M> {
  readonly machine: M;
  /** The payload committed as one journal record before anything is shown; absent when the state did not change. */
  readonly commit?: Uint8Array;
  /** Codes shown as applied once the commit is done; a code may be applied once in a device's life. */
  readonly applied?: readonly string[];
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
  /** Boots from a mounted payload; undefined when the payload is not a state this device can read. */
  boot(payload: Uint8Array): Transition<M> | undefined;
  step(machine: M, op: Op): Transition<M>;
  /** After a cut during `op`, whether the user does it again (retypes a code) rather than moving on. */
  retry(op: Op): boolean;
  /**
   * Workload invariants of a payload mounted after a cut, given the committed payload before the interrupted
   * commit, the one it was writing, and the index of the interrupted operation. Returns violations.
   */
  audit(mounted: Uint8Array, before: Uint8Array, after: Uint8Array, index: number): string[];
}

/** The journal as the campaign uses it; Journal.mount by default, a broken one in the tests that prove it fails. */
export type MountJournal = (flash: NorFlash) => { readonly mounted: Mounted; append(payload: Uint8Array): void };

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
  /** Programs and erases in the uncut run: the single cut points. */
  readonly cutPoints: number;
  readonly tears: readonly Tear[];
  readonly singleCuts: number;
  readonly doubleCuts: number;
  readonly violations: readonly Violation[];
  readonly ms: number;
}

/** The device's side of a run: RAM, the last committed payload, the codes applied so far. */
interface _Device<M> {
  machine: M | undefined;
  committed: Uint8Array;
  /** The payload being appended: what "after" is if power fails now. */
  writing: Uint8Array | undefined;
  applied: Set<string>;
}

interface _Snapshot<M> {
  readonly image: NorImage;
  readonly machine: M | undefined;
  readonly committed: Uint8Array;
  readonly applied: ReadonlySet<string>;
  /** Mutations of the uncut run before this operation. */
  readonly mutations: number;
}

class _Violated extends Error {}

/** Runs the whole campaign and reports; never throws for a violation (they are in the report). */
export function runCampaign<M, Op>(workload: Workload<M, Op>, options: CampaignOptions): CampaignReport {
  const started = Date.now();
  const tears = options.tears ?? TEARS;
  const mountJournal = options.mountJournal ?? ((flash: NorFlash) => Journal.mount(flash));
  const ops = workload.operations;
  if (ops.length === 0 || !workload.isPowerOn(ops[0])) throw new RangeError("a workload starts with a power-on");

  // The uncut run: a snapshot before every operation, so each case starts where its cut falls.
  const snapshots: _Snapshot<M>[] = [];
  const reference = new NorSim({ chip: options.chip, blocks: options.blocks, seed: options.seed });
  mountJournal(reference).append(workload.genesis); // provisioning, on an erased flash: not a cut point
  const formatMutations = reference.mutations;
  const device: _Device<M> = {
    machine: undefined,
    committed: workload.genesis,
    writing: undefined,
    applied: new Set(),
  };
  let journal = mountJournal(reference);
  for (let index = 0; index < ops.length; index++) {
    snapshots.push({
      ..._copy(device),
      image: _copyImage(reference.image),
      mutations: reference.mutations - formatMutations,
    });
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
  snapshots.push({
    ..._copy(device),
    image: _copyImage(reference.image),
    mutations: reference.mutations - formatMutations,
  });
  const cutPoints = reference.mutations - formatMutations;
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
    const base = { workload: workload.name, operations: ops.length, tears, violations: [] };
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
  const flash = new NorSim({
    chip: options.chip,
    blocks: options.blocks,
    image: snapshot.image,
    seed: (options.seed * 0x9e3779b1 + cut * 0x85ebca6b + TEARS.indexOf(tear)) >>> 0,
  });
  const device: _Device<M> = { ..._copy(snapshot) };
  const violations: string[] = [];
  const operation = `#${index} ${workload.describe(ops[index])}`;
  let journal = mountJournal(flash);
  let secondLanded = false;
  try {
    flash.cut(cut - snapshot.mutations, tear);
    let cutsLeft = second ? 2 : 1;
    let powerOnNext = false;
    let end = Infinity;
    while (powerOnNext || (index < ops.length && index < end)) {
      try {
        if (powerOnNext) journal = _powerOn(workload, device, flash, mountJournal);
        else journal = _execute(workload, ops[index], device, journal, flash, mountJournal);
        if (powerOnNext) powerOnNext = false;
        else index++;
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        cutsLeft--;
        if (cutsLeft === 0 && second) secondLanded = true;
        flash.powerOn(); // also disarms
        journal = _recover(workload, flash, mountJournal, device, index);
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
    const final = _mountPayload(mountJournal, flash);
    if (typeof final === "string") violations.push(`final mount: ${final}`);
    else if (!_same(final, device.committed)) violations.push("the final mount lost a committed record");
  } catch (e) {
    violations.push(e instanceof _Violated ? e.message : `threw ${(e as Error).stack ?? e}`);
  }
  return { violations, operation, secondLanded };
}

/** The recovery check after a cut: mount must work and give the state before or after the interrupted commit. */
function _recover<M, Op>(
  workload: Workload<M, Op>,
  flash: NorSim,
  mountJournal: MountJournal,
  device: _Device<M>,
  index: number,
): ReturnType<MountJournal> {
  const before = device.committed;
  const after = device.writing;
  const mounted = _mountPayload(mountJournal, flash);
  if (typeof mounted === "string") throw new _Violated(mounted);
  const isBefore = _same(mounted, before);
  const isAfter = after !== undefined && _same(mounted, after);
  const problems: string[] = [];
  if (!isBefore && !isAfter)
    problems.push(`mounted a state that is neither before nor after the cut: ${bytesToHex(mounted).slice(0, 64)}...`);
  problems.push(...workload.audit(mounted, before, after ?? before, index));
  if (problems.length > 0) throw new _Violated(problems.join("; "));
  device.committed = mounted;
  device.writing = undefined;
  device.machine = undefined;
  return mountJournal(flash);
}

/** Runs one operation, committing its record; a power cut propagates with the device as it was before. */
function _execute<M, Op>(
  workload: Workload<M, Op>,
  op: Op,
  device: _Device<M>,
  journal: ReturnType<MountJournal>,
  flash: NorSim,
  mountJournal: MountJournal,
): ReturnType<MountJournal> {
  if (workload.isPowerOn(op)) return _powerOn(workload, device, flash, mountJournal);
  if (device.machine === undefined) throw new Error("an operation before the first power-on");
  _commit(workload.step(device.machine, op), device, journal);
  return journal;
}

function _powerOn<M, Op>(
  workload: Workload<M, Op>,
  device: _Device<M>,
  flash: NorSim,
  mountJournal: MountJournal,
): ReturnType<MountJournal> {
  const journal = mountJournal(flash);
  const mounted = journal.mounted;
  if (mounted.kind !== "record") throw new _Violated(`power-on mounted ${mounted.kind}`);
  const booted = workload.boot(mounted.payload);
  if (booted === undefined) throw new _Violated("power-on: the mounted record does not decode");
  device.machine = undefined;
  _commit(booted, device, journal);
  return journal;
}

/** Commits a transition's record, then shows its codes applied; a code applied twice is a violation. */
function _commit<M>(transition: Transition<M>, device: _Device<M>, journal: ReturnType<MountJournal>): void {
  if (transition.commit !== undefined) {
    device.writing = transition.commit;
    journal.append(transition.commit);
    device.committed = transition.commit;
    device.writing = undefined;
  }
  device.machine = transition.machine;
  for (const code of transition.applied ?? []) {
    if (device.applied.has(code)) throw new _Violated(`code ${code} applied twice`);
    device.applied.add(code);
  }
}

/** The mounted payload, or what went wrong (mount threw, found fresh or corrupt). */
function _mountPayload(mountJournal: MountJournal, flash: NorFlash): Uint8Array | string {
  let mounted: Mounted;
  try {
    mounted = mountJournal(flash).mounted;
  } catch (e) {
    return `mount threw ${(e as Error).message}`;
  }
  return mounted.kind === "record" ? mounted.payload : `mount found ${mounted.kind}`;
}

function _copy<M>(device: { machine: M | undefined; committed: Uint8Array; applied: ReadonlySet<string> }): _Device<M> {
  return { machine: device.machine, committed: device.committed, writing: undefined, applied: new Set(device.applied) };
}

function _copyImage(image: NorImage): NorImage {
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
