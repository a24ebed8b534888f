// Attempt limiters: the Nexus token bucket plus lockout and the OpenPAYGO doubling lockout, charged durably with each
// verdict.
import {
  LOCKOUT,
  NEXUS_BUCKET,
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

/** `failures` bad entries from a clean limiter, each lockout waited out before the next: the patient guesser. */
function failPatiently<S>(b: Bench<S>, failures: number): void {
  for (let i = 0; i < failures; i++) {
    b.enter(bad);
    b.elapse(lockoutAfter(i + 1));
  }
}

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

  it("charges public codes, duplicates and failures one attempt; a code spent for the first time refunds its own", () => {
    let limiter = initialLimiter("nexus-full");
    for (const outcome of ["public", "duplicate", "invalid"] as const) {
      const next = chargeLimiter(limiter, outcome);
      expect(next).toMatchObject({ kind: "bucket", bucketMs: (limiter as { bucketMs: number }).bucketMs - 720_000 });
      limiter = next;
    }
    expect(chargeLimiter(limiter, "spent")).toBe(limiter);
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
      decayMs: 0,
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
    const held = { kind: "bucket", decayMs: 0 } as const;
    expect(limiterWaitMs({ ...held, bucketMs: full, failures: 9, lockoutMs: 3 * MINUTE })).toBe(3 * MINUTE);
    expect(limiterWaitMs({ ...held, bucketMs: 0, failures: 3, lockoutMs: MINUTE })).toBe(12 * MINUTE);
    expect(limiterWaitMs({ ...held, bucketMs: 0, failures: 2, lockoutMs: 0 })).toBe(12 * MINUTE);
  });

  it("keeps the Nexus failure count through a valid, a used and a public code; only the used and public cost attempts", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.add, 60)); // spent: refunds its own attempt
    b.enter(bad);
    b.enter(bad);
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "duplicate" });
    expect(b.state.device.limiter).toEqual({
      kind: "bucket",
      bucketMs: 3 * NEXUS_BUCKET.refillMs,
      failures: 2,
      lockoutMs: 0,
      decayMs: 0,
    });
    expect(b.enter(fakeCode(2, FAKE_OP.add, 60))).toMatchObject({ kind: "applied" });
    expect(b.enter(fakeCode(3, FAKE_OP.displayId))).toEqual({ kind: "display_id" });
    expect(b.saved.limiter).toEqual({
      kind: "bucket",
      bucketMs: 2 * NEXUS_BUCKET.refillMs,
      failures: 2,
      lockoutMs: 0,
      decayMs: 0,
    });
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
      decayMs: 0,
    });
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: 4 * MINUTE });
    b.elapse(4 * MINUTE);
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toMatchObject({ kind: "applied" });
  });
});

describe("OpenPAYGO lockout", () => {
  it("forgives 2 failures, then locks for 2, 4, ... 8,192 minutes, staying at 8,192", () => {
    const minutes = [];
    for (let failures = 1; failures <= 17; failures++) minutes.push(lockoutAfter(failures) / MINUTE);
    expect(minutes).toEqual([0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 8192, 8192]);
    expect(lockoutAfter(LOCKOUT.maxFailures)).toBe(LOCKOUT.maxLockoutMs);
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
    failPatiently(b, 5);
    b.enter(bad); // failure 6: 16 minutes
    b.elapse(CHECKPOINT_INTERVAL_MS / 2); // counted down in RAM only: no checkpoint yet
    b.cut();
    b.boot();
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 6, lockoutMs: 16 * MINUTE, decayMs: 0 });
    expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "locked_out", waitMs: 16 * MINUTE });
  });

  it("keeps the failure count through a valid code (buying codes refills nothing), and writes nothing for it", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    b.enter(bad);
    b.enter(bad);
    b.enter(fakeCode(1, FAKE_OP.add, 60));
    expect(b.saved.limiter).toEqual({ kind: "lockout", failures: 2, lockoutMs: 0, decayMs: 0 });
    expect(b.enter(bad)).toMatchObject({ kind: "invalid" });
    expect(b.enter(bad)).toEqual({ kind: "locked_out", waitMs: 2 * MINUTE });
  });

  it("refuses an entry that cannot be a code without counting it or writing a record", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    const records = b.records;
    for (let i = 0; i < 20; i++) expect(b.enter("12")).toMatchObject({ kind: "invalid" });
    expect(b.records).toBe(records);
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 0, lockoutMs: 0, decayMs: 0 });
  });

  it("forgives one failure per LOCKOUT.decayMs of quiet powered uptime, after the lockout, kept through a cut", () => {
    const b = new Bench(fakeProtocol("nexus-full"));
    b.boot();
    failPatiently(b, 4);
    expect(b.state.device.limiter).toMatchObject({ failures: 4, lockoutMs: 0, decayMs: 0 });
    b.elapse(LOCKOUT.decayMs - 1);
    b.cut(); // the quiet time was checkpointed every 15 minutes: at most one interval of it is lost
    b.boot();
    expect(b.state.device.limiter.failures).toBe(4);
    b.elapse(CHECKPOINT_INTERVAL_MS);
    expect(b.state.device.limiter).toMatchObject({ failures: 3, lockoutMs: 0 });
    b.elapse(3 * LOCKOUT.decayMs);
    expect(b.state.device.limiter).toMatchObject({ failures: 0, decayMs: 0 });
    // A clean count again: three mistypes wait 2 minutes in all (issue 11: at most 5).
    expect([b.enter(bad), b.enter(bad), b.enter(bad), b.enter(bad)].map((f) => f?.kind)).toEqual([
      "invalid",
      "invalid",
      "invalid",
      "locked_out",
    ]);
    expect(limiterWaitMs(b.state.device.limiter)).toBe(2 * MINUTE);
  });

  it("does not count an already used code as a failure, nor write a record for it", () => {
    const b = new Bench(fakeProtocol("openpaygo"));
    b.boot();
    b.enter(fakeCode(1, FAKE_OP.add, 60));
    b.enter(bad);
    const records = b.records;
    for (let i = 0; i < 5; i++) expect(b.enter(fakeCode(1, FAKE_OP.add, 60))).toEqual({ kind: "duplicate" });
    expect(b.records).toBe(records);
    expect(b.state.device.limiter).toEqual({ kind: "lockout", failures: 1, lockoutMs: 0, decayMs: 0 });
  });

  it("runs a lockout down with powered uptime only", () => {
    let limiter = chargeLimiter({ kind: "lockout", failures: 10, lockoutMs: 0, decayMs: 0 }, "invalid");
    expect(limiterWaitMs(limiter)).toBe(512 * MINUTE);
    limiter = elapseLimiter(limiter, 500 * MINUTE);
    expect(limiterWaitMs(limiter)).toBe(12 * MINUTE);
    expect(limiterWaitMs(elapseLimiter(limiter, HOUR))).toBe(0);
  });
});

describe('limiter ordering (torture\'s "the attempt limiter never goes back")', () => {
  it("counts a Nexus bucket, failure count or lockout going back as the limiter going back", () => {
    const locked = {
      kind: "bucket",
      bucketMs: NEXUS_BUCKET.refillMs,
      failures: 4,
      lockoutMs: 4 * MINUTE,
      decayMs: 0,
    } as const;
    expect(atLeastAsStrict(locked, locked)).toBe(true);
    expect(atLeastAsStrict(locked, { ...locked, bucketMs: 2 * NEXUS_BUCKET.refillMs, failures: 3, lockoutMs: 0 })).toBe(
      true,
    );
    expect(atLeastAsStrict({ ...locked, bucketMs: 2 * NEXUS_BUCKET.refillMs }, locked)).toBe(false);
    expect(atLeastAsStrict({ ...locked, failures: 3 }, locked)).toBe(false);
    expect(atLeastAsStrict({ ...locked, lockoutMs: MINUTE }, locked)).toBe(false);
    expect(atLeastAsStrict({ kind: "lockout", failures: 4, lockoutMs: 4 * MINUTE, decayMs: 0 }, locked)).toBe(false);
    const quiet = { ...locked, lockoutMs: 0, decayMs: MINUTE };
    expect(atLeastAsStrict(quiet, { ...quiet, decayMs: 2 * MINUTE })).toBe(true);
    expect(atLeastAsStrict({ ...quiet, decayMs: 2 * MINUTE }, quiet)).toBe(false);
  });
});

describe("limiter choice", () => {
  it("rejects an unknown protocol name", () => {
    expect(() => initialLimiter("nexus")).toThrow(
      new RangeError(`"protocol" expected openpaygo, nexus-full or nexus-small, got nexus`),
    );
  });
});
