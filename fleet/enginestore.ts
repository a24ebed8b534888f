// The FleetStore over either engine: each method runs the shared Steps (fleet/storesteps.ts, paymentsteps.ts,
// operatorsteps.ts) as one transaction of the engine it is given. SqliteStore (fleet/sqlitestore.ts) and PgStore
// (fleet/pgstore.ts) only say how an engine runs a transaction and opens a device's sealed image.
import type { SealedFleet } from "./devices";
import type { OperatorRequest } from "./operator";
import { operatorCodeSteps } from "./operatorsteps";
import { DAY_MS } from "./payments";
import { approveSteps, assignSteps, heldAccountsSteps, receiveSteps, releaseSteps, reverseSteps } from "./paymentsteps";
import type { SecretKeySource } from "./sealing";
import type { Steps } from "./sql";
import type {
  Account,
  AccountSpec,
  AuditNote,
  Code,
  CodeQuery,
  Device,
  DeviceQuery,
  FleetStore,
  IncomingPayment,
  OperatorIssued,
  Page,
  PaymentOutcome,
  PaymentQuery,
  Plan,
  PlanSpec,
  Verdict,
} from "./store";
import { codesSql, deviceIdsSql, pageOf, paymentsSql } from "./storequeries";
import { accountFromRow, codeFromRow, OUTCOME_SELECT, outcomeFromRow, planFromRow } from "./storerows";
import type { CodeListRow, OutcomeRow, PlanRow } from "./storerows";
import {
  accountSteps,
  addAccountSteps,
  addPlanSteps,
  audited,
  auditSteps,
  deviceIdSteps,
  deviceSteps,
  matchSteps,
  outcomeSteps,
  rowsOf,
  type CodeHook,
  type StoreContext,
} from "./storesteps";

/** What the hub and the commands tell the store, on either engine. */
export interface StoreOptions extends SecretKeySource {
  /** A code delivered this many days ago counts as entered (window rule). Default 3. */
  readonly enteredAfterDays?: number;
  /** The clock (tests run months of payments in seconds). */
  readonly now?: () => Date;
  /** For local numbers typed as account references (07XX...). Default 254. */
  readonly countryCode?: string;
  /**
   * Runs inside the transaction that issued a code (a payment's, or an operator's asked with SMS), before it
   * commits: the SMS outbox writes its row here, so code, payment and message commit together or not at all.
   */
  readonly onCode?: CodeHook;
}

/** How one engine runs the shared procedures. */
export interface StoreEngine {
  /** For messages: the file or URL (its password hidden). */
  readonly where: string;
  /** `steps` as one write transaction; settles once it committed (rejects, and nothing of it stays, when it threw). */
  write<T>(steps: () => Steps<T>): Promise<T>;
  /** `steps` that only read. */
  read<T>(steps: () => Steps<T>): Promise<T>;
  /** The key the devices' images are sealed under. */
  readonly fleet: SealedFleet;
  close(): Promise<void>;
}

export class EngineStore implements FleetStore {
  readonly where: string;
  private readonly ctx: StoreContext;

  constructor(
    private readonly engine: StoreEngine,
    options: StoreOptions,
  ) {
    this.where = engine.where;
    this.ctx = {
      where: engine.where,
      now: options.now ?? (() => new Date()),
      countryCode: options.countryCode ?? "254",
      enteredAfterMs: (options.enteredAfterDays ?? 3) * DAY_MS,
      fleet: engine.fleet,
      onCode: options.onCode,
    };
  }

  addPlan(spec: PlanSpec): Promise<Plan> {
    return this.engine.write(() => addPlanSteps(this.ctx, spec));
  }

  plans(): Promise<Plan[]> {
    return this.engine.read(function* () {
      const rows = (yield { sql: "SELECT * FROM plans ORDER BY name", args: [] }) as PlanRow[];
      return rows.map(planFromRow);
    });
  }

  addAccount(spec: AccountSpec): Promise<Account> {
    return this.engine.write(() => addAccountSteps(this.ctx, spec));
  }

  account(serial: string): Promise<Account> {
    return this.engine.read(() => accountSteps(this.ctx, serial));
  }

  matchAccount(accountRef: string, msisdn: string | null): Promise<Account | undefined> {
    const ctx = this.ctx;
    return this.engine.read(function* () {
      const row = yield* matchSteps(ctx, accountRef, msisdn);
      return row === undefined ? undefined : accountFromRow(row);
    });
  }

  async check(p: Pick<IncomingPayment, "accountRef" | "msisdn" | "amount" | "currency">): Promise<Verdict> {
    const account = await this.matchAccount(p.accountRef, p.msisdn);
    if (account === undefined) return { ok: false, reason: "unknown_account" };
    if (account.plan.currency !== p.currency) return { ok: false, reason: "wrong_currency" };
    if (p.amount < account.plan.minPayment) return { ok: false, reason: "below_minimum" };
    return { ok: true, account };
  }

  receive(payment: IncomingPayment): Promise<PaymentOutcome> {
    return this.engine.write(() => receiveSteps(this.ctx, payment));
  }

  payment(provider: string, transId: string): Promise<PaymentOutcome | undefined> {
    return this.engine.read(() => outcomeSteps("p.provider = ? AND p.trans_id = ?", [provider, transId], false));
  }

  orphans(): Promise<PaymentOutcome[]> {
    return this.engine.read(function* () {
      const rows = (yield {
        sql: `${OUTCOME_SELECT} WHERE p.status = 'orphan' ORDER BY p.payment_id`,
        args: [],
      }) as OutcomeRow[];
      return rows.map((row) => outcomeFromRow(row, false));
    });
  }

  assign(
    provider: string,
    transId: string,
    serial: string,
    audit?: AuditNote<PaymentOutcome>,
  ): Promise<PaymentOutcome> {
    return this.engine.write(() => audited(this.ctx, audit, assignSteps(this.ctx, provider, transId, serial)));
  }

  reverse(provider: string, transId: string, note: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome> {
    return this.engine.write(() => audited(this.ctx, audit, reverseSteps(this.ctx, provider, transId, note)));
  }

  approveUnlock(serial: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome> {
    return this.engine.write(() => audited(this.ctx, audit, approveSteps(this.ctx, serial)));
  }

  async releaseHeld(audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome[]> {
    const ctx = this.ctx;
    const ids = await this.engine.read(heldAccountsSteps);
    // One transaction per account: a hub releasing while others take payments locks one device at a time (SQLite's
    // group commit still puts them in one transaction, one fsync). Only a release that issued is audited.
    const released = await Promise.all(
      ids.map((id) =>
        this.engine.write(function* () {
          const done = yield* releaseSteps(ctx, id);
          if (done !== undefined && audit !== undefined) yield* auditSteps(ctx, audit, done);
          return done;
        }),
      ),
    );
    return released.filter((r): r is PaymentOutcome => r !== undefined);
  }

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    const ctx = this.ctx;
    return this.engine.read(function* () {
      const ids = yield* rowsOf<{ device_id: number }>(deviceIdsSql(query, ctx.countryCode));
      const { rows, next } = pageOf(ids, query.limit, (r) => r.device_id);
      const items: Device[] = [];
      for (const r of rows) items.push(yield* deviceSteps(ctx, r.device_id));
      return { items, next };
    });
  }

  device(serial: string): Promise<Device> {
    const ctx = this.ctx;
    return this.engine.read(function* () {
      return yield* deviceSteps(ctx, yield* deviceIdSteps(ctx, serial));
    });
  }

  listPayments(query: PaymentQuery): Promise<Page<PaymentOutcome>> {
    const ctx = this.ctx;
    return this.engine.read(function* () {
      const found = yield* rowsOf<OutcomeRow>(paymentsSql(query, ctx.countryCode));
      const { rows, next } = pageOf(found, query.limit, (r) => r.payment_id);
      return { items: rows.map((r) => outcomeFromRow(r, false)), next };
    });
  }

  listCodes(query: CodeQuery): Promise<Page<Code>> {
    const ctx = this.ctx;
    return this.engine.read(function* () {
      const deviceId = query.serial === undefined ? undefined : yield* deviceIdSteps(ctx, query.serial);
      const found = yield* rowsOf<CodeListRow>(codesSql(deviceId, query));
      const { rows, next } = pageOf(found, query.limit, (r) => r.code_id);
      return { items: rows.map(codeFromRow), next };
    });
  }

  operatorCode(serial: string, request: OperatorRequest, audit: AuditNote): Promise<OperatorIssued> {
    return this.engine.write(() => operatorCodeSteps(this.ctx, serial, request, audit));
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
