// The ledger driving the real protocols with real codes: Nexus full and small keypads, OpenPAYGO Token.
import { decodeDevice, encodeDevice } from "../firmware/ledger/codec";
import { NEXUS_BUCKET, LOCKOUT, lockoutAfter } from "../firmware/ledger/limiter";
import { LEASE_MS, loadOn, remainingMs } from "../firmware/ledger/reducer";
import { fullDigits } from "../firmware/protocols/nexus/full";
import { nexusFull } from "../firmware/protocols/nexus/full_device";
import { smallSymbols } from "../firmware/protocols/nexus/small";
import { nexusSmall } from "../firmware/protocols/nexus/small_device";
import { TokenIssuer } from "../firmware/protocols/openpaygo/encoder";
import { openPaygo } from "../firmware/protocols/openpaygo/verifier";
import { hexToBytes } from "../firmware/hex";
import { Bench, DAY, HOUR, MINUTE } from "./ledger.helpers";

const key = hexToBytes("deadbeefdeadbeefdeadbeefdeadbeef");

describe("ledger with Nexus full keypad", () => {
  const protocol = () => nexusFull({ key });

  it("adds credit, refuses the same code after a power cut, and runs the credit down", () => {
    const b = new Bench(protocol());
    b.boot();
    const code = fullDigits({ type: "add_credit", key, id: 24, hours: 2 });
    expect(b.enter(code)).toEqual({ kind: "applied", action: { type: "add_credit", seconds: 7200 } });
    b.cut();
    b.boot();
    expect(b.enter(code)).toEqual({ kind: "duplicate" });
    b.elapse(2 * HOUR - LEASE_MS - 1); // the lease the cut lost is gone (one minute)
    expect(loadOn(b.state)).toBe(true);
    b.elapse(1);
    expect(loadOn(b.state)).toBe(false);
  });

  it("unlocks, then locks with a wipe-credit code", () => {
    const b = new Bench(protocol());
    b.boot();
    b.enter(fullDigits({ type: "unlock", key, id: 30 }));
    b.elapse(365 * DAY);
    expect(loadOn(b.state)).toBe(true);
    expect(b.enter(fullDigits({ type: "wipe_state", key, id: 31, wipe: "credit" }))).toMatchObject({ kind: "applied" });
    expect(loadOn(b.state)).toBe(false);
  });

  it("gives allow-test power only to a device with no credit", () => {
    const b = new Bench(protocol());
    b.boot();
    b.enter(fullDigits({ type: "add_credit", key, id: 24, hours: 1 }));
    expect(b.enter(fullDigits({ type: "allow_test" }))).toEqual({ kind: "duplicate" });
    b.elapse(HOUR);
    expect(b.enter(fullDigits({ type: "allow_test" }))).toMatchObject({ kind: "applied" });
    expect(remainingMs(b.state)).toBe(127_000);
  });

  it("stacks a one-hour QC code on credit and counts it in the protocol state, in the same record", () => {
    const b = new Bench(protocol());
    b.boot();
    b.enter(fullDigits({ type: "add_credit", key, id: 24, hours: 1 }));
    const effects = b.send({ type: "entry", digits: fullDigits({ type: "qc_test", minutes: 60 }) });
    expect(effects[0].type).toBe("persist");
    expect(b.saved.protocol.qcLong).toBe(1);
    expect(remainingMs(b.state)).toBe(2 * HOUR);
  });

  it("round-trips its state through the record codec", () => {
    const b = new Bench(protocol());
    b.boot();
    b.enter(fullDigits({ type: "add_credit", key, id: 40, hours: 5 }));
    expect(decodeDevice(b.protocol, encodeDevice(b.protocol, b.saved))).toEqual(b.saved);
  });

  it("rate-limits random guesses with the Nexus bucket and the lockout", () => {
    const b = new Bench(protocol());
    b.boot();
    // A well-formed code under another key: only the MAC refuses it, so it is a guess (a random 14 digits is mostly
    // refused on its type digit, which is no guess).
    const guess = fullDigits({
      type: "add_credit",
      key: hexToBytes("00000000000000000000000000000001"),
      id: 24,
      hours: 1,
    });
    for (let i = 0; i < LOCKOUT.freeFailures + 1; i++) expect(b.enter(guess)).toMatchObject({ kind: "invalid" });
    const code = fullDigits({ type: "add_credit", key, id: 24, hours: 1 });
    expect(b.enter(code)).toEqual({ kind: "locked_out", waitMs: lockoutAfter(3) });
    b.elapse(lockoutAfter(3));
    expect(b.enter(guess)).toMatchObject({ kind: "invalid" });
    expect(b.enter(guess)).toMatchObject({ kind: "locked_out" });
    b.elapse(lockoutAfter(4));
    // 4 of the first boot's 6 attempts spent (refusals cost none) and 6 minutes earned: 2.5 attempts left
    expect(b.state.device.limiter).toMatchObject({ bucketMs: 2 * NEXUS_BUCKET.refillMs + 6 * MINUTE });
    expect(b.enter(code)).toMatchObject({ kind: "applied" });
  });
});

describe("ledger with Nexus small keypad", () => {
  it("adds days, and clears the product's restricted flag in the protocol's state", () => {
    const b = new Bench(nexusSmall({ key, restricted: true }));
    b.boot();
    expect(b.enter(smallSymbols({ type: "add_credit", key, id: 24, days: 1 }))).toEqual({
      kind: "applied",
      action: { type: "add_credit", seconds: 86400 },
    });
    expect(b.saved.protocol.restricted).toBe(true);
    b.enter(smallSymbols({ type: "clear_restricted_flag", key, id: 25 }));
    expect(b.saved.protocol.restricted).toBe(false);
    b.cut();
    b.boot();
    expect(b.state.device.protocol.restricted).toBe(false);
  });

  it("locks with a lock code", () => {
    const b = new Bench(nexusSmall({ key }));
    b.boot();
    b.enter(smallSymbols({ type: "add_credit", key, id: 24, days: 3 }));
    b.enter(smallSymbols({ type: "lock", key, id: 26 }));
    expect(loadOn(b.state)).toBe(false);
  });
});

describe("ledger with OpenPAYGO Token", () => {
  const options = { key, startingCode: 123456789 };
  const device = () => openPaygo({ ...options, timeDivider: 1, restricted: false });

  it("adds days, sets days, disables PAYG, and refuses a used token without counting a failure", () => {
    const issuer = new TokenIssuer(options);
    const b = new Bench(device());
    b.boot();
    const add = issuer.issue({ count: 1, type: "add_time", value: 3 });
    expect(b.enter(add.token)).toEqual({ kind: "applied", action: { type: "add_credit", seconds: 3 * 86400 } });
    expect(b.enter(add.token)).toEqual({ kind: "duplicate" });
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 0, lockoutMs: 0, decayMs: 0 });
    const set = issuer.issue({ count: add.count, type: "set_time", value: 1 });
    b.enter(set.token);
    expect(remainingMs(b.state)).toBe(DAY);
    b.enter(issuer.issue({ count: set.count, type: "disable_payg" }).token);
    b.elapse(30 * DAY);
    expect(loadOn(b.state)).toBe(true);
  });

  it("locks guessing out for 2 minutes after the third wrong token, through a power cut; a valid token resets nothing", () => {
    const issuer = new TokenIssuer(options);
    const b = new Bench(device());
    b.boot();
    for (const guess of ["111111111", "222222222", "333333333"])
      expect(b.enter(guess)).toMatchObject({ kind: "invalid" });
    b.elapse(MINUTE);
    b.cut();
    b.boot();
    const add = issuer.issue({ count: 1, type: "add_time", value: 1 });
    expect(b.enter(add.token)).toEqual({ kind: "locked_out", waitMs: 2 * MINUTE });
    b.elapse(2 * MINUTE);
    expect(b.enter(add.token)).toMatchObject({ kind: "applied" });
    // Issue 11: only powered time forgives failures, so a bought token buys no guesses.
    expect(b.saved.limiter).toEqual({ kind: "lockout", failures: 3, lockoutMs: 0, decayMs: 0 });
  });
});
