// Attempt limiters: the Nexus token bucket plus lockout and the OpenPAYGO doubling lockout, charged durably with each
// verdict.
import {
  NEXUS_BUCKET,
  OPAYGO_LOCKOUT,
  chargeLimiter,
  elapseLimiter,
  initialLimiter,
  lockoutAfter,
  limiterWaitMs,
} from "../firmware/ledger/limiter";
import { CHECKPOINT_INTERVAL_MS } from "../firmware/ledger/reducer";
import { atLeastAsStrict } from "../tools/torture/ledger";
import { Bench, HOUR, MINUTE, feedbackOf } from "./ledger.helpers";
import { FAKE_OP, fakeCode, fakeProtocol } from "./probes/ledger.probe";

const bad = "00000001"; // fails the fake's check digit
/** A genuine code that does nothing: it costs a Nexus attempt but counts no failure, so only the bucket holds. */
const noop = (i: number) => fakeCode(10 + i, FAKE_OP.none);

describe("Nexus token bucket", () => {
  it("verifies 6 entries at first boot and refuses the 7th without checking it", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    for (let i = 0; i < 6; i++) expect(b.enter(noop(i))).toMatchObject({ kind: "applied" });
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: NEXUS_BUCKET.refillMs });
    expect(b.saved.protocol.used).not.toContain(1);
  });

  it("earns one attempt per 720 s of uptime", () => {
    const b = new Bench(fakeProtocol("nexus-small"));
    b.boot();
    for (let i = 0; i < 6; i++) b.enter(noop(i));
    b.elapse(719_999);
    expect(b.enter(bad)).toEqual({ kind: "locked_out", waitMs: 1 });
    b.elapse(1);
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" });
    expect(b.enter(bad)).toMatchObject({ kind: "locked_out" });
  });

  it("charges valid and duplicate codes too, as the reference does", () => {
    let limiter = initialLimiter("nexus-full");
    for (const outcome of ["applied", "duplicate", "invalid"] as const) {
      const next = chargeLimiter(limiter, outcome);
      expect(next).toMatchObject({ kind: "bucket", bucketMs: (limiter as { bucketMs: number }).bucketMs - 720_000 });
      limiter = next;
    }
  });

  it("holds at most 128 attempts however long the unit runs", () => {
    let limiter = elapseLimiter(initialLimiter("nexus-full"), 10 * 365 * 24 * HOUR);
    let attempts = 0;
    while (limiterWaitMs(limiter) === 0) {
      limiter = chargeLimiter(limiter, "duplicate"); // costs an attempt, counts no failure
      attempts++;
    }
    expect(attempts).toBe(NEXUS_BUCKET.maxAttempts);
  });

  it("charges each verified entry in the same record as its verdict (a cut after a guess keeps its cost)", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    for (let i = 0; i < 6; i++) {
      const effects = b.send({ type: "entry", digits: noop(0) }); // applied once, then duplicates
      expect(feedbackOf(effects)?.kind).toBe(i === 0 ? "applied" : "duplicate");
      expect(effects[0].type).toBe("persist");
      b.cut();
      b.boot();
    }
    expect(b.enter(bad)).toMatchObject({ kind: "locked_out" });
  });

  it("gives at most the first-boot 6 attempts after a reboot, however full the saved bucket (as the reference)", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    b.elapse(30 * HOUR);
    expect(b.saved.limiter).toEqual({
      kind: "bucket",
      bucketMs: NEXUS_BUCKET.maxAttempts * NEXUS_BUCKET.refillMs,
      failures: 0,
      lockoutMs: 0,
    });
    b.cut();
    b.boot();
    for (let i = 0; i < 6; i++) expect(b.enter(noop(i))).toMatchObject({ kind: "applied" });
    expect(b.enter(bad)).toMatchObject({ kind: "locked_out" });
  });

  it("loses unsaved refill to a power cut rather than gaining attempts", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    for (let i = 0; i < 6; i++) b.enter(noop(i));
    const earned = NEXUS_BUCKET.refillMs + MINUTE; // one attempt earned, not yet checkpointed
    expect(earned).toBeLessThan(CHECKPOINT_INTERVAL_MS);
    b.elapse(earned);
    b.cut();
    b.boot();
    expect(b.enter(bad)).toMatchObject({ kind: "locked_out", waitMs: NEXUS_BUCKET.refillMs });
  });
});

describe("Nexus lockout (OpenPAYGO's schedule on top of the bucket)", () => {
  it("locks a Nexus keypad out after repeated failures even with a full bucket", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    b.elapse(30 * HOUR); // the bucket is full: 128 attempts
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" });
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" });
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" }); // failure 3: 2 minutes
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: 2 * MINUTE });
    b.elapse(2 * MINUTE);
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" }); // failure 4: 4 minutes
    expect(b.enter(bad)).toEqual({ kind: "locked_out", waitMs: 4 * MINUTE });
    expect(b.state.device.limiter).toMatchObject({ kind: "bucket", failures: 4, lockoutMs: 4 * MINUTE });
    expect(limiterWaitMs(b.state.device.limiter)).toBe(4 * MINUTE);
  });

  it("refuses entry while either the bucket is empty or the lockout runs, whichever is longer", () => {
    const full = NEXUS_BUCKET.maxAttempts * NEXUS_BUCKET.refillMs;
    expect(limiterWaitMs({ kind: "bucket", bucketMs: full, failures: 9, lockoutMs: 3 * MINUTE })).toBe(3 * MINUTE);
    expect(limiterWaitMs({ kind: "bucket", bucketMs: 0, failures: 3, lockoutMs: MINUTE })).toBe(12 * MINUTE);
    expect(limiterWaitMs({ kind: "bucket", bucketMs: 0, failures: 2, lockoutMs: 0 })).toBe(12 * MINUTE);
  });

  it("resets the Nexus failure count on a valid code and does not count a used code, which still costs an attempt", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.add, 60));
    b.enter(bad);
    b.enter(bad);
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "duplicate" });
    expect(b.state.device.limiter).toEqual({
      kind: "bucket",
      bucketMs: 2 * NEXUS_BUCKET.refillMs,
      failures: 2,
      lockoutMs: 0,
    });
    expect(b.enter(fakeCode(2, FAKE_OP.add, 60))).toMatchObject({ kind: "applied" });
    expect(b.saved.limiter).toEqual({ kind: "bucket", bucketMs: NEXUS_BUCKET.refillMs, failures: 0, lockoutMs: 0 });
  });

  it("keeps a Nexus lockout through a power cut and counts it down in powered uptime only", () => {
    const b = new Bench(fakeProtocol("nexus-small"));
    b.boot();
    b.elapse(30 * HOUR);
    for (let i = 0; i < 3; i++) b.enter(bad); // failure 3: 2 minutes
    b.elapse(2 * MINUTE);
    b.enter(bad); // failure 4: 4 minutes
    b.elapse(MINUTE); // counted down in RAM only: no checkpoint yet
    b.cut();
    b.boot();
    // The boot also clamps the bucket to the first-boot 6 attempts; the lockout stays whole.
    expect(b.state.device.limiter).toEqual({
      kind: "bucket",
      bucketMs: NEXUS_BUCKET.initialAttempts * NEXUS_BUCKET.refillMs,
      failures: 4,
      lockoutMs: 4 * MINUTE,
    });
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: 4 * MINUTE });
    b.elapse(4 * MINUTE);
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toMatchObject({ kind: "applied" });
  });
});

describe("OpenPAYGO lockout", () => {
  it("forgives 2 failures, then locks for 2, 4, ... 512 minutes, staying at 512", () => {
    const minutes = [];
    for (let failures = 1; failures <= 14; failures++) minutes.push(lockoutAfter(failures) / MINUTE);
    expect(minutes).toEqual([0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512, 512]);
    expect(lockoutAfter(OPAYGO_LOCKOUT.maxFailures)).toBe(OPAYGO_LOCKOUT.maxLockoutMs);
  });

  it("refuses entry during a lockout and reports the uptime left", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    b.enter(bad);
    b.enter(bad);
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" });
    b.elapse(MINUTE);
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: MINUTE });
    b.elapse(MINUTE);
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toMatchObject({ kind: "applied" });
  });

  it("keeps a lockout through a power cut: the failure and its lockout are in the verdict's record", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    for (let i = 0; i < 5; i++) {
      b.enter(bad);
      b.elapse(lockoutAfter(i + 1));
    }
    b.enter(bad); // failure 6: 16 minutes
    b.elapse(CHECKPOINT_INTERVAL_MS / 2); // counted down in RAM only: no checkpoint yet
    b.cut();
    b.boot();
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 6, lockoutMs: 16 * MINUTE });
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: 16 * MINUTE });
  });

  it("resets the failure count on a valid code", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    b.enter(bad);
    b.enter(bad);
    b.enter(fakeCode(1, FAKE_OP.add, 60));
    expect(b.saved.limiter).toEqual({ kind: "lockout", failures: 0, lockoutMs: 0 });
    b.enter(bad);
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" });
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 2, lockoutMs: 0 });
  });

  it("does not count an already used code as a failure, nor write a record for it", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.add, 60));
    b.enter(bad);
    const records = b.records;
    for (let i = 0; i < 5; i++) expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "duplicate" });
    expect(b.records).toBe(records);
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 1, lockoutMs: 0 });
  });

  it("runs a lockout down with powered uptime only", () => {
    let limiter = chargeLimiter({ kind: "lockout", failures: 10, lockoutMs: 0 }, "invalid");
    expect(limiterWaitMs(limiter)).toBe(512 * MINUTE);
    limiter = elapseLimiter(limiter, 500 * MINUTE);
    expect(limiterWaitMs(limiter)).toBe(12 * MINUTE);
    expect(limiterWaitMs(elapseLimiter(limiter, HOUR))).toBe(0);
  });
});

describe('limiter ordering (torture\'s "the attempt limiter never goes back")', () => {
  it("counts a Nexus bucket, failure count or lockout going back as the limiter going back", () => {
    const locked = { kind: "bucket", bucketMs: NEXUS_BUCKET.refillMs, failures: 4, lockoutMs: 4 * MINUTE } as const;
    expect(atLeastAsStrict(locked, locked)).toBe(true);
    expect(atLeastAsStrict(locked, { ...locked, bucketMs: 2 * NEXUS_BUCKET.refillMs, failures: 3, lockoutMs: 0 })).toBe(
      true,
    );
    expect(atLeastAsStrict({ ...locked, bucketMs: 2 * NEXUS_BUCKET.refillMs }, locked)).toBe(false);
    expect(atLeastAsStrict({ ...locked, failures: 3 }, locked)).toBe(false);
    expect(atLeastAsStrict({ ...locked, lockoutMs: MINUTE }, locked)).toBe(false);
    expect(atLeastAsStrict({ kind: "lockout", failures: 4, lockoutMs: 4 * MINUTE }, locked)).toBe(false);
  });
});

describe("limiter choice", () => {
  it("rejects an unknown protocol name", () => {
    expect(() => initialLimiter("nexus")).toThrow(
      new RangeError(`"protocol" expected openpaygo, nexus-full or nexus-small, got nexus`),
    );
  });
});
