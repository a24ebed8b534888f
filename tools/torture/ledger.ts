// The torture workload on the real device: keycodes issued by the server side of Nexus Keycode (full and small
// keypads) or OpenPAYGO Token, typed into the ledger's reducer (firmware/ledger), with uptime and power cycles.
import { decodeDevice, encodeDevice, mountedDevice } from "../../firmware/ledger/codec";
import {
  LEASE_MS,
  mount,
  reduce,
  remainingMs,
  type Effect,
  type LedgerEvent,
  type LedgerState,
} from "../../firmware/ledger/reducer";
import { freshState, type DeviceState } from "../../firmware/ledger/state";
import type { LimiterState } from "../../firmware/ledger/limiter";
import { fullDigits } from "../../firmware/protocols/nexus/full";
import { nexusFull } from "../../firmware/protocols/nexus/full_device";
import { roundSmallDays, smallSymbols, SMALL_KEYS } from "../../firmware/protocols/nexus/small";
import { nexusSmall } from "../../firmware/protocols/nexus/small_device";
import { TokenIssuer } from "../../firmware/protocols/openpaygo/encoder";
import { openPaygo } from "../../firmware/protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "../../firmware/protocols/protocol";
import { Random } from "../../hosts/node/nor-random";
import type { Held, Transition, Workload } from "./engine";

export const PROTOCOLS = ["openpaygo", "nexus-full", "nexus-small"] as const;
export type TortureProtocol = (typeof PROTOCOLS)[number];

/** What the user or the world does next. `pays`: seconds of credit the server sold with this code. */
export type LedgerOp =
  | { readonly type: "power_on" }
  | { readonly type: "entry"; readonly digits: string; readonly pays: number; readonly note: string }
  | { readonly type: "elapsed"; readonly ms: number };

const MINUTE = 60_000;

/**
 * A workload of `count` operations: codes sold (some typed twice, some lost and never typed, some typed wrong),
 * uptime from minutes to hours between them (hourly checkpoints), and power cycles.
 */
export function ledgerWorkload(
  protocolName: TortureProtocol,
  seed: number,
  count: number,
): Workload<LedgerState<unknown>, LedgerOp> & { readonly protocol: KeycodeProtocol<unknown> } {
  const random = new Random(seed);
  const key = Uint8Array.from({ length: 16 }, () => random.below(256));
  const { protocol, sell } = deviceAndServer(protocolName, key, random);
  const operations: LedgerOp[] = [{ type: "power_on" }];
  const sold: LedgerOp[] = [];
  while (operations.length < count) {
    const roll = random.below(100);
    if (roll < 35) {
      const code = sell(random.below(10) === 0);
      sold.push(code);
      if (random.below(10) > 0) operations.push(code); // one in ten is lost and never typed
    } else if (roll < 42 && sold.length > 0) {
      operations.push({ ...(random.pick(sold) as LedgerOp & { type: "entry" }), note: "typed again" });
    } else if (roll < 50) {
      operations.push({ type: "entry", digits: guessFor(random, protocolName), pays: 0, note: "mistyped" });
    } else if (roll < 95) {
      operations.push({ type: "elapsed", ms: random.between(1, 180) * MINUTE });
    } else {
      operations.push({ type: "power_on" });
    }
  }
  // Paid up to and including each operation: the most credit the device may ever hold by then.
  const paidThrough: number[] = [];
  let paid = 0;
  for (const op of operations) paidThrough.push((paid += op.type === "entry" ? op.pays : 0));

  const decode = (payload: Uint8Array) => decodeDevice(protocol, payload);
  return {
    name: `${protocolName} ledger (seed ${seed})`,
    ...ledgerDevice(protocol),
    operations,
    describe: (op: LedgerOp) =>
      op.type === "entry" ? `entry ${op.digits} (${op.note})` : op.type === "elapsed" ? `elapsed ${op.ms} ms` : op.type,
    isPowerOn: (op: LedgerOp) => op.type === "power_on",
    retry: (op: LedgerOp) => op.type === "entry",
    audit(mounted: Uint8Array, before: Uint8Array, after: Uint8Array, machine: Machine | undefined, index: number) {
      const device = decode(mounted);
      if (device === undefined) return ["the mounted record does not decode"];
      const problems: string[] = [];
      const payg = device.payg;
      if (payg.kind === "unlocked") problems.push("unlocked, but no unlock code was sold");
      else if (payg.creditSeconds + payg.testSeconds > paidThrough[index])
        problems.push(`credit ${payg.creditSeconds + payg.testSeconds} s exceeds the ${paidThrough[index]} s paid`);
      // Issue 21's window: paid minus powered, less at most the running minute (the reducer's RAM before and after
      // the interrupted operation bound paid minus powered at the instant of the cut).
      const op = operations[index];
      if (machine !== undefined && payg.kind === "metered" && op.type !== "power_on") {
        const ms = (payg.creditSeconds + payg.testSeconds) * 1000;
        const ends = [remainingMs(machine), remainingMs(reduce(protocol, machine, _event(op)).state)];
        if (ms > Math.max(...ends)) problems.push(`credit ${ms} ms is above paid minus powered (${Math.max(...ends)})`);
        if (ms < Math.min(...ends) - LEASE_MS)
          problems.push(`credit ${ms} ms lost more than a minute (paid minus powered ${Math.min(...ends)})`);
      }
      const was = [decode(before), decode(after)].filter((d) => d !== undefined);
      if (!was.some((d) => atLeastAsStrict(device.limiter, d.limiter)))
        problems.push("the attempt limiter went back (more attempts than before or after the cut)");
      return problems;
    },
  };
}

type Machine = LedgerState<unknown>;

/**
 * The real ledger over `protocol` as the journal drives it: the factory record, folding a mounted record's minutes,
 * boot and one operation, each as the transition it commits. What the workloads, the flash attacker and its bench run.
 */
export function ledgerDevice(protocol: KeycodeProtocol<unknown>) {
  const encode = (device: DeviceState<unknown>) => encodeDevice(protocol, device);
  const transition = (step: { state: Machine; effects: Effect<unknown>[] }, digits?: string): Transition<Machine> => {
    let commit: Uint8Array | undefined;
    let codes = 0;
    let minutes = 0;
    let ticks = 0;
    const applied: string[] = [];
    for (const effect of step.effects) {
      if (effect.type === "persist") {
        commit = encode(effect.device);
        codes = effect.codes;
        minutes = effect.minutes;
      }
      if (effect.type === "tick") ticks++;
      if (effect.type === "feedback" && effect.feedback.kind === "applied" && digits !== undefined)
        applied.push(digits);
    }
    return { machine: step.state, commit, codes, minutes, ticks, applied };
  };
  return {
    protocol,
    genesis: encode(freshState(protocol)),
    fold(held: Held): Uint8Array | undefined {
      const device = mountedDevice(protocol, { kind: "record", sequence: 0, ...held });
      return device === undefined ? undefined : encode(device);
    },
    boot(payload: Uint8Array): Transition<Machine> | undefined {
      const device = decodeDevice(protocol, payload);
      if (device === undefined) return undefined;
      return transition(reduce(protocol, mount(device), { type: "boot" }));
    },
    step(machine: Machine, op: LedgerOp): Transition<Machine> {
      return transition(reduce(protocol, machine, _event(op)), op.type === "entry" ? op.digits : undefined);
    },
  };
}

export type LedgerDevice = ReturnType<typeof ledgerDevice>;

function _event(op: LedgerOp): LedgerEvent {
  return op.type === "entry"
    ? { type: "entry", digits: op.digits }
    : { type: "elapsed", ms: (op as { ms: number }).ms };
}

/**
 * The verifier the device runs and the server that sells it codes: `sell(false)` adds credit, `sell(true)` sets it
 * (amounts drawn from `random`). `pays` is the credit the code is worth.
 */
export function deviceAndServer(
  name: TortureProtocol,
  key: Uint8Array,
  random: Random,
): { protocol: KeycodeProtocol<unknown>; sell(set: boolean): LedgerOp } {
  if (name === "openpaygo") {
    const startingCode = random.below(1_000_000_000);
    const issuer = new TokenIssuer({ key, startingCode });
    let count = 1; // the count of a fresh device (OpenPAYGO INITIAL_STATE)
    const protocol = openPaygo({ key, startingCode, timeDivider: 1, restricted: false }) as KeycodeProtocol<unknown>;
    return {
      protocol,
      sell(set) {
        const days = random.between(1, 3);
        const issued = issuer.issue({ count, type: set ? "set_time" : "add_time", value: days });
        count = issued.count;
        return { type: "entry", digits: issued.token, pays: days * 86_400, note: `${set ? "set" : "add"} ${days} d` };
      },
    };
  }
  let id = 0;
  if (name === "nexus-small") {
    const protocol = nexusSmall({ key }) as KeycodeProtocol<unknown>;
    return {
      protocol,
      sell(set) {
        const type = set ? "set_credit" : "add_credit";
        const days = roundSmallDays(type, random.between(1, 3));
        const digits = smallSymbols({ type, key, id: id++, days });
        return { type: "entry", digits, pays: days * 86_400, note: `${set ? "set" : "add"} ${days} d` };
      },
    };
  }
  const protocol = nexusFull({ key }) as KeycodeProtocol<unknown>;
  return {
    protocol,
    sell(set) {
      const hours = random.between(1, 72);
      const digits = fullDigits({ type: set ? "set_credit" : "add_credit", key, id: id++, hours });
      return { type: "entry", digits, pays: hours * 3600, note: `${set ? "set" : "add"} ${hours} h` };
    },
  };
}

/** Random keys of a genuine code's length: almost surely invalid, so the attempt limiter works (a keypad guess). */
export function guessFor(random: Random, name: TortureProtocol): string {
  const keys = name === "nexus-small" ? SMALL_KEYS : "0123456789";
  let digits = "";
  for (let i = 0; i < (name === "openpaygo" ? 9 : 14); i++) digits += keys[random.below(keys.length)];
  return digits;
}

/**
 * Whether limiter `a` lets a user try no more than `b`, now or later: no fuller bucket, no fewer failures counted
 * (each one lengthens the next lockout) and no shorter lockout left. Compares every field of both kinds, the Nexus
 * bucket's lockout included.
 */
export function atLeastAsStrict(a: LimiterState, b: LimiterState): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "bucket" && b.kind === "bucket" && a.bucketMs > b.bucketMs) return false;
  if (a.failures < b.failures || a.lockoutMs < b.lockoutMs) return false;
  // With as many failures, less quiet time counted towards forgiving one is stricter.
  return a.failures > b.failures || a.decayMs <= b.decayMs;
}
