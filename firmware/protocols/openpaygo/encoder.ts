// OpenPAYGO Token server-side encoder (OpenPAYGO-Token spec, "token generation"; bit-exact with the reference
// `generate_standard_token` / `generate_extended_token`). Shared by the device tests and the operator's tools.
//
// A `TokenIssuer` keeps one device's chain states per value, so issuing the next token of a package costs the counts
// since that package was last issued, not the whole count (the reference rehashes from count 0 every time).

import { expectBoolean, expectBytes, expectInt } from "../../assert";
import { sipKey } from "../../crypto/siphash";
import { formatToken } from "./digits";
import { ChainCache, TokenChain, stateAt } from "./chain";
import { MAX_COUNT } from "./replay";
import {
  MAX_ACTIVATION_VALUE,
  MAX_EXTENDED_VALUE,
  encodedValue,
  isReservedValue,
  nextCount,
  type TokenType,
} from "./token";

/** One device's secrets and token format, as the server holds them. */
export interface IssuerOptions {
  /** The device's 16-byte secret key. */
  readonly key: Uint8Array;
  /** The device's starting code, 0-999,999,999. */
  readonly startingCode: number;
  /** 12-digit tokens, values up to 999,999 (default false: 9 digits, values up to 995). */
  readonly extended?: boolean;
  /** Digits 1-4 only: 15 or 20 digits (default false). */
  readonly restricted?: boolean;
  /** Chain states kept, one per recently issued value (default 16). */
  readonly cacheSize?: number;
}

/** What to issue. */
export interface TokenRequest {
  /** The server's count for this device before issuing (the count of the last token issued). */
  readonly count: number;
  readonly type: TokenType;
  /** Add/set time: the amount in value units (days times the device's time divider). Absent for the other types. */
  readonly value?: number;
}

/** An issued token: its digits, and its count (the server's new count for this device). */
export interface IssuedToken {
  readonly token: string;
  readonly count: number;
}

const TYPES: readonly TokenType[] = Object.freeze(["add_time", "set_time", "disable_payg", "counter_sync"]);

/** Issues one device's tokens, caching chain states per value. Throws TypeError/RangeError on bad options. */
export class TokenIssuer {
  private readonly chain: TokenChain;
  private readonly cache: ChainCache;
  private readonly restricted: boolean;

  constructor(options: IssuerOptions) {
    expectBytes(options.key, 16, "key");
    expectInt(options.startingCode, 0, 999999999, "startingCode");
    const extended = _flag(options.extended, "extended");
    this.restricted = _flag(options.restricted, "restricted");
    const cacheSize = options.cacheSize ?? 16;
    expectInt(cacheSize, 1, 1024, "cacheSize");
    this.chain = new TokenChain(sipKey(options.key), options.startingCode, extended);
    this.cache = new ChainCache(cacheSize);
  }

  /** SipHashes computed so far. */
  get hashes(): number {
    return this.chain.hashes;
  }

  /** The next token of `request.type` after `request.count`. Throws TypeError/RangeError on a bad request. */
  issue(request: TokenRequest): IssuedToken {
    const { type } = request;
    if (!TYPES.includes(type)) throw new TypeError(`"type" expected one of ${TYPES.join(", ")}, got ${String(type)}`);
    expectInt(request.count, 0, MAX_COUNT - 2, "count");
    let amount = 0;
    if (type === "add_time" || type === "set_time") {
      const max = this.chain.extended ? MAX_EXTENDED_VALUE : MAX_ACTIVATION_VALUE;
      expectInt(request.value, 0, max, "value");
      if (isReservedValue(request.value)) throw new RangeError(`"value" 996-999 are reserved, got ${request.value}`);
      amount = request.value;
    } else if (request.value !== undefined) {
      throw new TypeError(`"value" expected none for ${type}, got ${String(request.value)}`);
    }
    const count = nextCount(request.count, type);
    const base = this.chain.baseFor(encodedValue(type, amount));
    const code = stateAt(this.chain, this.cache, base, count);
    this.cache.store(base, count, code);
    return { token: formatToken(this.chain.mask(code, base), this.chain.extended, this.restricted), count };
  }
}

/** One token, without a cache: `new TokenIssuer(options).issue(request)`. */
export function encodeToken(options: IssuerOptions & TokenRequest): IssuedToken {
  return new TokenIssuer(options).issue(options);
}

function _flag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  expectBoolean(value, name);
  return value;
}
