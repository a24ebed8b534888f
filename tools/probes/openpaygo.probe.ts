// Probe: OpenPAYGO Token vectors and per-verdict cost, identical under Node (imported) and XS (bundled by hosts/xsnap).
import { sipKey } from "../../firmware/crypto/siphash";
import { hexToBytes } from "../../firmware/hex";
import { TokenChain } from "../../firmware/protocols/openpaygo/chain";
import { TokenIssuer } from "../../firmware/protocols/openpaygo/encoder";
import type { OpenPaygoState } from "../../firmware/protocols/openpaygo/replay";
import { openPaygo, type OpenPaygoProtocol } from "../../firmware/protocols/openpaygo/verifier";
import { checkOpenPaygo, type OpenPaygoRow } from "../conformance/openpaygo";

/** The failures among `rows` ("index: what differed"), empty when all pass. */
export function checkRows(rows: OpenPaygoRow[]): string[] {
  const failures: string[] = [];
  rows.forEach((row, i) => {
    const failure = checkOpenPaygo(row);
    if (failure !== null) failures.push(`${i}: ${failure}`);
  });
  return failures;
}

const KEY = "bc41ec9530f6dac86b1a29ab82edc5fb";
const STARTING_CODE = 516959010;
/** The operator's package: the value issued again and again. */
const PACKAGE = 7;

/** What the measured entry is: the next token of the package value, of a value never seen, or the last one again. */
export type Entry = "repeated" | "new" | "replayed";

let prepared: { device: OpenPaygoProtocol; state: OpenPaygoState; token: string; expected: string } | undefined;

/**
 * Sets up one verdict to measure: a device whose last count is `count`, reached by a token of the package value,
 * and the entry to verify next. Returns the SipHashes the set-up took.
 */
export function prepareVerdict(count: number, entry: Entry): number {
  const key = hexToBytes(KEY);
  const device = openPaygo({ key, startingCode: STARTING_CODE, timeDivider: 1, restricted: false });
  const issuer = new TokenIssuer({ key, startingCode: STARTING_CODE });
  const warm = issuer.issue({ count: count - 2, type: "add_time", value: PACKAGE });
  const verdict = device.verify({ lastCount: count - 2, usedMask: 0 }, warm.token);
  if (verdict.kind !== "applied") throw new Error(`set-up token refused: ${verdict.kind}`);
  const value = entry === "new" ? PACKAGE + 1 : PACKAGE;
  const token = entry === "replayed" ? warm.token : issuer.issue({ count: warm.count, type: "add_time", value }).token;
  prepared = { device, state: verdict.state, token, expected: entry === "replayed" ? "duplicate" : "applied" };
  return device.hashes;
}

/** Verifies the prepared entry; returns the SipHashes this verdict took. */
export function runVerdict(): number {
  if (prepared === undefined) throw new Error("call prepareVerdict first");
  const { device, state, token, expected } = prepared;
  const before = device.hashes;
  const verdict = device.verify(state, token);
  if (verdict.kind !== expected) throw new Error(`measured entry: ${verdict.kind}, expected ${expected}`);
  return device.hashes - before;
}

/** Does nothing: the XS compute of a probe call's own overhead, subtracted from measurements. */
export function nothing(): number {
  return 0;
}

/** The reference decoder's work for a token it does not find: count + 65 chain steps from count 0. */
export function referenceWalk(count: number): number {
  const chain = new TokenChain(sipKey(hexToBytes(KEY)), STARTING_CODE, false);
  let code = chain.origin(chain.baseFor(PACKAGE));
  for (let i = 0; i < count + 65; i++) code = chain.next(code);
  return chain.hashes;
}
