// OpenPAYGO Token device verifier (OpenPAYGO-Token spec, "token decoding"): finds an entry's count in the window of
// counts the replay state allows, and turns it into a protocol-neutral Action.
//
// Cost: the reference walks the chain from count 0 on every entry (count + 65 SipHashes). Here each value's chain
// resumes from a cached state at or below the window, so a value seen recently costs about one window (<= 80 + the
// counts since it was last seen); a value never seen still walks from 0. Only genuine tokens add cache entries, so
// random entries cannot evict the operator's packages. The cache is derived data owned by this instance, not replay
// state: every entry is a fact about the chain, used only at or below its count; a miss costs time, never a verdict.

import type { Action, Verdict } from "../action";
import type { KeycodeProtocol } from "../protocol";
import { expectBoolean, expectBytes, expectInt } from "../../assert";
import { sipKey } from "../../crypto/siphash";
import { WALK_STATES } from "../../crypto/sipwalk";
import { ChainCache, TokenChain } from "./chain";
import { parseToken } from "./digits";
import {
  INITIAL_STATE,
  MAX_COUNT,
  MAX_TOKEN_JUMP,
  MAX_TOKEN_JUMP_COUNTER_SYNC,
  MIN_LAST_COUNT,
  OLDER_COUNTS,
  afterApplying,
  canApply,
  lowestCount,
  stateFromWords,
  stateToWords,
  type OpenPaygoState,
} from "./replay";
import { COUNTER_SYNC_VALUE, tokenTypeOf, valueToSeconds, type TokenType } from "./token";

/** One device's OpenPAYGO secrets and options, as provisioned. */
export interface OpenPaygoOptions {
  /** The device's 16-byte secret key. */
  readonly key: Uint8Array;
  /** The device's starting code, 0-999,999,999. */
  readonly startingCode: number;
  /** Value units per day, 1-255 (1: values are days; 24: hours). */
  readonly timeDivider: number;
  /** Keypad with keys 1-4 only: tokens are 15 (or 20) digits. */
  readonly restricted: boolean;
  /** Also take extended tokens (12 or 20 digits, values up to 999,999). Default false. */
  readonly extended?: boolean;
  /** Chain states cached per chain (one per recently seen value). Default 8: operators sell a few packages. */
  readonly cacheSize?: number;
}

/** The verifier, plus its running SipHash count (for benchmarks and cost tests). */
export interface OpenPaygoProtocol extends KeycodeProtocol<OpenPaygoState> {
  readonly hashes: number;
}

// Scan outcomes other than an applicable count (which is >= 1).
const NOT_FOUND = -1;
const USED = 0;
const RESERVED = -2;

/** The device side of OpenPAYGO Token for one device. Throws TypeError/RangeError on bad options. */
export function openPaygo(options: OpenPaygoOptions): OpenPaygoProtocol {
  return new _OpenPaygo(options);
}

class _OpenPaygo implements OpenPaygoProtocol {
  readonly name = "openpaygo";
  private readonly standard: _Scanner;
  private readonly extended: _Scanner | undefined;
  private readonly timeDivider: number;
  private readonly restricted: boolean;

  constructor(options: OpenPaygoOptions) {
    expectBytes(options.key, 16, "key");
    expectInt(options.startingCode, 0, 999999999, "startingCode");
    expectInt(options.timeDivider, 1, 255, "timeDivider");
    expectBoolean(options.restricted, "restricted");
    const extended = options.extended ?? false;
    expectBoolean(extended, "extended");
    const cacheSize = options.cacheSize ?? 8;
    expectInt(cacheSize, 1, 64, "cacheSize");
    const key = sipKey(options.key);
    this.standard = new _Scanner(new TokenChain(key, options.startingCode, false), cacheSize);
    this.extended = extended ? new _Scanner(new TokenChain(key, options.startingCode, true), cacheSize) : undefined;
    this.timeDivider = options.timeDivider;
    this.restricted = options.restricted;
  }

  get hashes(): number {
    return this.standard.chain.hashes + (this.extended ? this.extended.chain.hashes : 0);
  }

  initialState(): OpenPaygoState {
    return INITIAL_STATE;
  }

  verify(state: OpenPaygoState, entry: string): Verdict<OpenPaygoState> {
    if (typeof entry !== "string") return _invalid(`expected a string of digits, got ${typeof entry}`);
    if (!_isState(state)) return _invalid("not an OpenPAYGO replay state");
    const parsed = parseToken(entry, this.extended !== undefined, this.restricted);
    if (typeof parsed === "string") return _invalid(parsed);
    const scanner = parsed.extended ? this.extended! : this.standard;
    const value = scanner.chain.valueOf(parsed.code);
    if (value === 996 || value === 997) return _invalid(`value ${value} is reserved`);
    const found = scanner.scan(state, parsed.code, value);
    if (found === USED) return { kind: "duplicate" };
    if (found === RESERVED) return _invalid(`value ${value} is reserved at an add-time (even) count`);
    if (found === NOT_FOUND) {
      return _invalid(`not this device's token for counts ${lowestCount(state)}-${_highestCount(state, value)}`);
    }
    const type = tokenTypeOf(found, value)!;
    return { kind: "applied", action: this.action(type, value), state: afterApplying(state, found, type) };
  }

  toWords(state: OpenPaygoState): number[] {
    return stateToWords(state);
  }

  fromWords(words: readonly number[]): OpenPaygoState | undefined {
    return stateFromWords(words);
  }

  private action(type: TokenType, value: number): Action {
    switch (type) {
      case "add_time":
        return { type: "add_credit", seconds: valueToSeconds(value, this.timeDivider) };
      case "set_time":
        return { type: "set_credit", seconds: valueToSeconds(value, this.timeDivider) };
      case "disable_payg":
        return { type: "unlock" };
      case "counter_sync":
        return { type: "none" };
    }
  }
}

/** One chain (standard or extended) with its cache of states and the states a walk leaves (crypto/sipwalk). */
class _Scanner {
  private readonly cache: ChainCache;
  private readonly states = new Float64Array(WALK_STATES);

  constructor(
    readonly chain: TokenChain,
    cacheSize: number,
  ) {
    this.cache = new ChainCache(cacheSize);
  }

  /**
   * Walks `token`'s chain over the counts `state` allows, lowest first, like the reference: the first count at which
   * the token is genuine and may apply wins (so a rare collision at a used count cannot hide the real one).
   * Returns that count, or USED (genuine only at used counts), RESERVED (genuine only where its value is
   * reserved) or NOT_FOUND.
   */
  scan(state: OpenPaygoState, token: number, value: number): number {
    const chain = this.chain;
    const cache = this.cache;
    const states = this.states;
    const base = chain.base(token);
    const lowest = lowestCount(state);
    const highest = _highestCount(state, value);
    const slot = cache.lookup(base, lowest);
    const start = slot < 0 ? 0 : cache.countAt(slot);
    // One walk from the cached state through the window (one crossing into C on the device); another only after a
    // count where the token is genuine but may not apply.
    let count = chain.walk(slot < 0 ? chain.origin(base) : cache.codeAt(slot), start, lowest, highest, token, states);
    const lowestCode = states[16];
    let outcome = NOT_FOUND;
    while (count >= 0) {
      const type = tokenTypeOf(count, value);
      if (type === undefined) {
        if (outcome === NOT_FOUND) outcome = RESERVED;
      } else if (canApply(state, count, type)) {
        outcome = count;
        break;
      } else {
        outcome = USED;
      }
      if (count >= highest) break;
      count = chain.walk(chain.next(states[count & 15]), count + 1, count + 1, highest, token, states);
    }
    // Keep this value's chain at the lowest count any later window can start from. After a newer token that is
    // its count - OLDER_COUNTS, at most 15 counts back, still in `states`.
    if (outcome > state.lastCount) {
      const next = outcome - OLDER_COUNTS < 1 ? 1 : outcome - OLDER_COUNTS;
      cache.store(base, next, states[next & 15]);
    } else if (outcome !== NOT_FOUND) {
      cache.store(base, lowest, lowestCode);
    }
    return outcome;
  }
}

function _highestCount(state: OpenPaygoState, value: number): number {
  return state.lastCount + (value === COUNTER_SYNC_VALUE ? MAX_TOKEN_JUMP_COUNTER_SYNC : MAX_TOKEN_JUMP);
}

function _isState(state: OpenPaygoState): boolean {
  if (typeof state !== "object" || state === null) return false;
  const { lastCount, usedMask } = state;
  return (
    Number.isInteger(lastCount) && lastCount >= MIN_LAST_COUNT && lastCount <= MAX_COUNT && Number.isInteger(usedMask)
  );
}

function _invalid(reason: string): Verdict<OpenPaygoState> {
  return { kind: "invalid", reason };
}
