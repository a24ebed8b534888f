// The fleet store on PostgreSQL: the FleetStore interface, with SqliteStore's behaviour, for many hub and tool
// processes on one fleet. Every method is one READ COMMITTED transaction. Issuing for a device is serialised by
// locking its account and device rows (FOR UPDATE, in that order everywhere), so different devices issue in
// parallel; the unique constraints stay the last line: a payment inserted by another process meanwhile (provider,
// trans_id) makes this one the idempotent replay, never a second code.
import { auditArgs, INSERT_AUDIT } from "./apikeys";
import type { Pool, PoolClient } from "pg";
import { parsePhone, phoneHash, readMsisdn, serialKey, phoneDigits } from "./accounts";
import { exactCredit } from "./amounts";
import { secretsOf, type CodeRequest } from "./codes";
import { deviceSteps, type FleetDevice } from "./devices";
import { NotFoundError, RefusedError, SolkeyError, UsageError } from "./errors";
import { codeSteps, type IssuedCode } from "./ledger";
import { buy, creditCode, DAY_MS } from "./payments";
import { checkPgFleet, inPgTransaction, pgPool, redacted, withClient } from "./pgdb";
import { numbered, runPgSteps } from "./sql";
import type { SecretKey, SecretKeySource } from "./sealing";
import { accountEffect, checkWindow, owedDays, planOperatorCode, sendsSms, type OperatorRequest } from "./operator";
import type {
  Account,
  AccountSpec,
  Code,
  CodeQuery,
  Device,
  DeviceQuery,
  FleetStore,
  IncomingPayment,
  AuditNote,
  OperatorIssued,
  Page,
  PaymentOutcome,
  PaymentQuery,
  PaymentStatus,
  Plan,
  PlanSpec,
  Verdict,
} from "./store";
import {
  CODE_SELECT,
  codesSql,
  deliveredSql,
  deviceBySerialSql,
  deviceIdsSql,
  deviceSummarySql,
  pageOf,
  paymentsSql,
  type Sql,
} from "./storequeries";
import {
  accountFromRow,
  codeFromRow,
  deviceFromRows,
  planFromRow,
  type AccountRow,
  type CodeListRow,
  type DeviceSummaryRow,
  type PaymentRow,
  type PlanRow,
} from "./storerows";

export interface PgStoreOptions extends SecretKeySource {
  /** A code delivered this many days ago counts as entered (window rule). Default 3. */
  readonly enteredAfterDays?: number;
  readonly now?: () => Date;
  /** For local numbers typed as account references (07XX...). Default 254. */
  readonly countryCode?: string;
  /** Connections in this process's pool. Default 10. */
  readonly poolSize?: number;
  /**
   * Called in the transaction that issued a payment's code (or an operator's, asked with SMS), before it commits:
   * the hub queues the code's SMS here, so the message and the code commit together or not at all. `codeId` is the
   * code's row; returns the message's.
   */
  readonly onCode?: (
    c: PoolClient,
    code: IssuedCode,
    account: Account,
    device: FleetDevice,
    codeId: number,
  ) => Promise<number>;
}

interface CodeRow {
  kind: string;
  seq: number | null;
  keycode: string;
  units: number | null;
  seconds: number | null;
  payment_ref: string | null;
}

const ACCOUNT_SELECT = `SELECT a.*, d.serial, d.protocol FROM accounts a JOIN devices d ON d.device_id = a.device_id`;

/** Thrown inside a transaction when another process stored this payment first: roll back, answer its outcome. */
class Replay extends SolkeyError {}

export class PgStore implements FleetStore {
  private readonly enteredAfterMs: number;
  private readonly now: () => Date;
  private readonly countryCode: string;
  private readonly plansById = new Map<number, Plan>();

  private constructor(
    private readonly pool: Pool,
    private readonly key: SecretKey,
    readonly where: string,
    private readonly options: PgStoreOptions,
  ) {
    this.enteredAfterMs = (options.enteredAfterDays ?? 3) * DAY_MS;
    this.now = options.now ?? (() => new Date());
    this.countryCode = options.countryCode ?? "254";
  }

  /** Opens the fleet at `url` (migrated by `solkey db migrate`) with its secret key (given: file or environment). */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const pool = pgPool(url, options.poolSize);
    try {
      const key = await checkPgFleet(pool, url, options);
      return new PgStore(pool, key, redacted(url), options);
    } catch (e) {
      await pool.end();
      throw e;
    }
  }

  // ---- plans and accounts

  addPlan(spec: PlanSpec): Promise<Plan> {
    return this._tx(async (c) => {
      const r = await c.query(
        `INSERT INTO plans (name, currency, per_day, min_payment, deposit, total, approve_unlock, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING plan_id`,
        [
          spec.name,
          spec.currency,
          spec.perDay,
          spec.minPayment,
          spec.deposit,
          spec.total,
          spec.approveUnlock ? 1 : 0,
          this._now(),
        ],
      );
      if (r.rows.length === 0)
        throw new UsageError(`plan ${spec.name} is already in ${this.where}; choose another name`);
      return { ...spec, planId: (r.rows[0] as { plan_id: number }).plan_id };
    });
  }

  async plans(): Promise<Plan[]> {
    return this._read(async (c) => (await c.query("SELECT * FROM plans ORDER BY name")).rows.map(planFromRow));
  }

  addAccount(spec: AccountSpec): Promise<Account> {
    return this._tx(async (c) => {
      const found = await c.query(
        `SELECT device_id, serial FROM devices
         WHERE upper(replace(replace(serial, '-', ''), ' ', '')) = $1 OR serial = $2 OR device_id::text = $2`,
        [serialKey(spec.device), spec.device],
      );
      if (found.rows.length !== 1)
        throw new UsageError(`device ${spec.device} is not in ${this.where}. Copy or provision it first`);
      const device = found.rows[0] as { device_id: number; serial: string };
      const plan = (await c.query("SELECT * FROM plans WHERE name = $1", [spec.plan])).rows[0] as PlanRow | undefined;
      if (plan === undefined)
        throw new UsageError(`no plan ${spec.plan} in ${this.where}. Add it with \`solkey plan add ${spec.plan} ...\``);
      const phone = parsePhone(spec.phone, this.countryCode);
      const r = await c.query(
        `INSERT INTO accounts (device_id, serial_key, phone, phone_sha256, plan_id, language, deposit_due, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING account_id`,
        [
          device.device_id,
          serialKey(device.serial),
          phone,
          phoneHash(phone),
          plan.plan_id,
          spec.language,
          plan.deposit,
          this._now(),
        ],
      );
      if (r.rows.length === 0) throw new UsageError(`${device.serial} already has an account in ${this.where}`);
      return this._account(c, await this._accountRow(c, (r.rows[0] as { account_id: number }).account_id));
    });
  }

  account(serial: string): Promise<Account> {
    return this._read(async (c) => {
      const row = (await c.query(`${ACCOUNT_SELECT} WHERE a.serial_key = $1`, [serialKey(serial)])).rows[0] as
        AccountRow | undefined;
      if (row === undefined)
        throw new NotFoundError(
          `no account for ${serial} in ${this.where}. Add one with \`solkey account add ${serial} ...\``,
        );
      return this._account(c, row);
    });
  }

  matchAccount(accountRef: string, msisdn: string | null): Promise<Account | undefined> {
    return this._read(async (c) => {
      const row = await this._match(c, accountRef, msisdn);
      return row === undefined ? undefined : this._account(c, row);
    });
  }

  check(p: Pick<IncomingPayment, "accountRef" | "msisdn" | "amount" | "currency">): Promise<Verdict> {
    return this._read(async (c) => {
      const row = await this._match(c, p.accountRef, p.msisdn);
      if (row === undefined) return { ok: false, reason: "unknown_account" };
      const account = await this._account(c, row);
      if (account.plan.currency !== p.currency) return { ok: false, reason: "wrong_currency" };
      if (p.amount < account.plan.minPayment) return { ok: false, reason: "below_minimum" };
      return { ok: true, account };
    });
  }

  // ---- payments

  async receive(payment: IncomingPayment): Promise<PaymentOutcome> {
    try {
      return await this._tx(async (c) => {
        const before = await this._paymentByTrans(c, payment.provider, payment.transId);
        if (before !== undefined) return this._outcome(c, before, true);
        const matched = await this._match(c, payment.accountRef, payment.msisdn);
        // The account's row lock serialises this device's payments across processes; read again under it.
        const account =
          matched === undefined ? undefined : await this._account(c, await this._lockAccount(c, matched.account_id));
        const r = await c.query(
          `INSERT INTO payments (provider, trans_id, amount, currency, short_code, account_ref, msisdn, paid_at,
             received_at, via, account_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, 'orphan')
           ON CONFLICT (provider, trans_id) DO NOTHING RETURNING payment_id`,
          [
            payment.provider,
            payment.transId,
            payment.amount,
            payment.currency,
            payment.shortCode,
            payment.accountRef,
            payment.msisdn,
            payment.paidAt,
            this._now(),
            payment.via,
          ],
        );
        // Another process committed this (provider, trans_id) after our first look: its answer is ours.
        if (r.rows.length === 0) throw new Replay();
        const paymentId = (r.rows[0] as { payment_id: number }).payment_id;
        if (account !== undefined && account.plan.currency === payment.currency)
          await this._credit(c, paymentId, account);
        return this._outcome(c, await this._paymentById(c, paymentId), false);
      });
    } catch (e) {
      if (!(e instanceof Replay)) throw e;
      return this._read(async (c) =>
        this._outcome(c, (await this._paymentByTrans(c, payment.provider, payment.transId))!, true),
      );
    }
  }

  payment(provider: string, transId: string): Promise<PaymentOutcome | undefined> {
    return this._read(async (c) => {
      const row = await this._paymentByTrans(c, provider, transId);
      return row === undefined ? undefined : this._outcome(c, row, false);
    });
  }

  orphans(): Promise<PaymentOutcome[]> {
    return this._read(async (c) => {
      const rows = (await c.query("SELECT * FROM payments WHERE status = 'orphan' ORDER BY payment_id")).rows;
      const out: PaymentOutcome[] = [];
      for (const row of rows as PaymentRow[]) out.push(await this._outcome(c, row, false));
      return out;
    });
  }

  assign(
    provider: string,
    transId: string,
    serial: string,
    audit?: AuditNote<PaymentOutcome>,
  ): Promise<PaymentOutcome> {
    return this._tx(async (c) =>
      this._audited(c, audit, async () => {
        const target = await this._accountBySerial(c, serial);
        const account = await this._account(c, await this._lockAccount(c, target.account_id));
        const row = await this._existing(c, provider, transId, true);
        if (row.status !== "orphan")
          throw new UsageError(`payment ${transId} is not an orphan (it is ${row.status}); nothing to assign`);
        if (account.plan.currency !== row.currency)
          throw new UsageError(
            `payment ${transId} is in ${row.currency}; ${serial}'s plan is in ${account.plan.currency}`,
          );
        await this._credit(c, row.payment_id, account);
        return this._outcome(c, await this._paymentById(c, row.payment_id), false);
      }),
    );
  }

  reverse(provider: string, transId: string, note: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome> {
    return this._tx(async (c) =>
      this._audited(c, audit, async () => {
        const seen = await this._existing(c, provider, transId, false);
        if (seen.account_id !== null) await this._lockAccount(c, seen.account_id);
        const row = await this._existing(c, provider, transId, true);
        if (row.status === "reversed") return this._outcome(c, row, true);
        if (row.account_id !== null)
          // The money is owed again: it comes off what the next payments buy (a code already issued stays issued).
          await c.query("UPDATE accounts SET paid = paid - $1, remainder = remainder - $1 WHERE account_id = $2", [
            row.amount,
            row.account_id,
          ]);
        await c.query("UPDATE payments SET status = 'reversed', reversed_at = $1, note = $2 WHERE payment_id = $3", [
          this._now(),
          note,
          row.payment_id,
        ]);
        return this._outcome(c, await this._paymentById(c, row.payment_id), false);
      }),
    );
  }

  approveUnlock(serial: string): Promise<PaymentOutcome> {
    return this._tx(async (c) => {
      const target = await this._accountBySerial(c, serial);
      const account = await this._account(c, await this._lockAccount(c, target.account_id));
      if (account.unlock !== "pending") throw new UsageError(`${account.serial} has no unlock waiting for approval`);
      const row = (
        await c.query(
          "SELECT * FROM payments WHERE account_id = $1 AND status = 'unlock_pending' ORDER BY payment_id DESC LIMIT 1",
          [account.accountId],
        )
      ).rows[0] as PaymentRow;
      const codeId = await this._issuePaid(c, account, { kind: "unlock" }, `${row.provider}:${row.trans_id}`);
      await this._setPayment(c, account.accountId, "coded", codeId, this._now(), row.payment_id);
      await c.query("UPDATE accounts SET unlock = 'issued' WHERE account_id = $1", [account.accountId]);
      return this._outcome(c, await this._paymentById(c, row.payment_id), false);
    });
  }

  async releaseHeld(): Promise<PaymentOutcome[]> {
    const ids = await this._read(
      async (c) => (await c.query("SELECT account_id FROM accounts WHERE held_days > 0 ORDER BY account_id")).rows,
    );
    const out: PaymentOutcome[] = [];
    // One transaction per account: a hub releasing while others take payments locks one device at a time.
    for (const { account_id } of ids as { account_id: number }[]) {
      const released = await this._tx(async (c) => {
        const account = await this._account(c, await this._lockAccount(c, account_id));
        if (account.heldDays === 0) return undefined; // another process released it meanwhile
        // Held payments, or only the days a coarse device could not carry (the newest payment stands for them).
        const last = (
          await c.query(
            "SELECT payment_id FROM payments WHERE account_id = $1 ORDER BY status = 'held' DESC, payment_id DESC LIMIT 1",
            [account_id],
          )
        ).rows[0] as { payment_id: number };
        if (!(await this._codeCredit(c, account, 0, last.payment_id))) return undefined;
        return this._outcome(c, await this._paymentById(c, last.payment_id), false);
      });
      if (released !== undefined) out.push(released);
    }
    return out;
  }

  // ---- the operator API

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    return this._read(async (c) => {
      const ids = await this._all<{ device_id: number }>(c, deviceIdsSql(query, this.countryCode));
      const { rows, next } = pageOf(ids, query.limit, (r) => r.device_id);
      const items: Device[] = [];
      for (const r of rows) items.push(await this._device(c, r.device_id));
      return { items, next };
    });
  }

  device(serial: string): Promise<Device> {
    return this._read(async (c) => this._device(c, await this._deviceId(c, serial)));
  }

  listPayments(query: PaymentQuery): Promise<Page<PaymentOutcome>> {
    return this._read(async (c) => {
      const found = await this._all<PaymentRow>(c, paymentsSql(query, this.countryCode));
      const { rows, next } = pageOf(found, query.limit, (r) => r.payment_id);
      const items: PaymentOutcome[] = [];
      for (const r of rows) items.push(await this._outcome(c, r, false));
      return { items, next };
    });
  }

  listCodes(query: CodeQuery): Promise<Page<Code>> {
    return this._read(async (c) => {
      const deviceId = query.serial === undefined ? undefined : await this._deviceId(c, query.serial);
      const found = await this._all<CodeListRow>(c, codesSql(deviceId, query));
      const { rows, next } = pageOf(found, query.limit, (r) => r.code_id);
      return { items: rows.map(codeFromRow), next };
    });
  }

  operatorCode(serial: string, request: OperatorRequest, audit: AuditNote): Promise<OperatorIssued> {
    return this._tx(async (c) => {
      const deviceId = await this._deviceId(c, serial);
      // Account before device, as every issuing path locks them.
      const found = (await c.query(`${ACCOUNT_SELECT} WHERE a.device_id = $1`, [deviceId])).rows[0] as
        AccountRow | undefined;
      const account = found === undefined ? null : await this._account(c, await this._lockAccount(c, found.account_id));
      const device = await this._lockDevice(c, deviceId);
      const now = this.now();
      const plan = planOperatorCode(request, secretsOf(device.record), owedDays(account?.paidUntil ?? null, now));
      const delivered = await this._delivered(c, device.deviceId, account?.accountId ?? null, now);
      checkWindow(
        {
          serial: device.serial,
          protocol: device.record.protocol,
          issuedSeq: device.issuedSeq,
          assumedEntered: Math.max(device.enteredSeq, delivered ?? -Infinity),
        },
        plan.request,
      );
      const onCode = request.sms ? this._smsHook(request, account) : undefined;
      const { issued, codeId } = await runPgSteps(
        c,
        codeSteps(device, { code: plan.request, pastWindow: true }, this._now()),
      );
      const effect = account === null ? null : accountEffect(request, account, now);
      if (account !== null && effect !== null)
        await c.query("UPDATE accounts SET paid_until = $1, held_days = $2, unlock = $3 WHERE account_id = $4", [
          effect.paidUntil,
          effect.heldDays,
          effect.unlock,
          account.accountId,
        ]);
      const after = account === null ? null : await this._account(c, await this._accountRow(c, account.accountId));
      const smsMessageId =
        onCode === undefined || after === null ? null : await onCode(c, issued, after, device, codeId);
      const code = (await c.query(`${CODE_SELECT} WHERE c.code_id = $1`, [codeId])).rows[0] as CodeListRow;
      const done = { code: codeFromRow(code), chose: plan.chose, effect, smsMessageId };
      return { ...done, auditId: await this._audit(c, audit, done) };
    });
  }

  /** Appends `audit`'s entry of `done` in `c`'s open transaction; its id. */
  private async _audit<T>(c: PoolClient, audit: AuditNote<T>, done: T): Promise<number> {
    const args = auditArgs(audit.keyId, this.now(), audit.action, audit.reason, audit.effect(done));
    const [{ audit_id }] = (await c.query(`${numbered(INSERT_AUDIT)} RETURNING audit_id`, args)).rows;
    return Number(audit_id);
  }

  /** `work`, then its audit entry when asked, in `c`'s one open transaction. */
  private async _audited<T>(c: PoolClient, audit: AuditNote<T> | undefined, work: () => Promise<T>): Promise<T> {
    const done = await work();
    if (audit !== undefined) await this._audit(c, audit, done);
    return done;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** The SMS hook for an operator's code, or a RefusedError naming why no SMS can go (as SqliteStore's). */
  private _smsHook(request: OperatorRequest, account: Account | null): NonNullable<PgStoreOptions["onCode"]> {
    const hook = this.options.onCode;
    if (hook === undefined) throw new RefusedError("no_sms", "this hub has no SMS outbox; ask without sms");
    if (account === null) throw new RefusedError("no_sms", "this device has no account, so no phone to send to");
    if (!sendsSms(request.action))
      throw new RefusedError("no_sms", `a ${request.action} code has no SMS text (goodwill, unlock and desired do)`);
    return hook;
  }

  private async _deviceId(c: PoolClient, serial: string): Promise<number> {
    const row = (await this._all<{ device_id: number }>(c, deviceBySerialSql(serial)))[0];
    if (row === undefined) throw new NotFoundError(`no device ${serial} in ${this.where}`);
    return row.device_id;
  }

  private async _device(c: PoolClient, deviceId: number): Promise<Device> {
    const now = this.now();
    const row = (await this._all<DeviceSummaryRow>(c, deviceSummarySql(deviceId, this._assumedBefore(now))))[0];
    const account = row.account_id === null ? null : await this._account(c, await this._accountRow(c, row.account_id));
    const last =
      row.last_code_id === null
        ? null
        : codeFromRow(
            (await c.query(`${CODE_SELECT} WHERE c.code_id = $1`, [row.last_code_id])).rows[0] as CodeListRow,
          );
    return deviceFromRows(row, account, last, now);
  }

  private async _all<T>(c: PoolClient, sql: Sql): Promise<T[]> {
    return (await c.query(numbered(sql.text), sql.args)).rows as T[];
  }

  /** A payment's code delivered at or before this counts as entered (window rule). */
  private _assumedBefore(now: Date): string {
    return new Date(now.getTime() - this.enteredAfterMs).toISOString();
  }

  /** The highest ID/count assumed entered by delivery time (storequeries.ts DELIVERED), or null. */
  private async _delivered(
    c: PoolClient,
    deviceId: number,
    accountId: number | null,
    now: Date,
  ): Promise<number | null> {
    const sql = deliveredSql(deviceId, accountId, this._assumedBefore(now));
    return (await this._all<{ seq: number | null }>(c, sql))[0].seq;
  }

  // ---- inside a transaction

  /** A matched payment's effect on its (locked) account: what it buys, then the code the window rule picks. */
  private async _credit(c: PoolClient, paymentId: number, account: Account): Promise<void> {
    const payment = await this._paymentById(c, paymentId);
    const bought = buy(account.plan, account, payment.amount);
    const now = this.now();
    let paidUntil = account.paidUntil;
    if (bought.days > 0) {
      const from = Math.max(now.getTime(), paidUntil === null ? 0 : Date.parse(paidUntil));
      paidUntil = new Date(from + bought.days * DAY_MS).toISOString();
    }
    const m = bought.money;
    await c.query(
      `UPDATE accounts SET paid = $1, deposit_due = $2, remainder = $3, days_bought = $4, paid_until = $5, unlock = $6
       WHERE account_id = $7`,
      [m.paid, m.depositDue, m.remainder, account.daysBought + bought.days, paidUntil, m.unlock, account.accountId],
    );
    await this._setPayment(c, account.accountId, bought.status, null, null, paymentId);
    const updated = await this._account(c, await this._accountRow(c, account.accountId));
    if (bought.unlock && bought.status === "coded") {
      const codeId = await this._issuePaid(c, updated, { kind: "unlock" }, `${payment.provider}:${payment.trans_id}`);
      await this._setPayment(c, account.accountId, "coded", codeId, this._now(), paymentId);
    } else if (bought.days > 0) await this._codeCredit(c, updated, bought.days, paymentId);
  }

  /** Codes `days` (and any held days) by the window rule, or holds them; true when a code was issued. */
  private async _codeCredit(c: PoolClient, account: Account, days: number, paymentId: number): Promise<boolean> {
    const device = await this._lockDevice(c, account.deviceId);
    const now = this.now();
    const delivered = await this._delivered(c, device.deviceId, account.accountId, now);
    const choice = creditCode({
      protocol: device.record.protocol,
      issuedSeq: device.issuedSeq,
      assumedEntered: Math.max(device.enteredSeq, delivered ?? -Infinity),
      days,
      heldDays: account.heldDays,
      owedDays: owedDays(account.paidUntil, now),
    });
    if (choice.kind === "hold") {
      await c.query("UPDATE accounts SET held_days = held_days + $1 WHERE account_id = $2", [days, account.accountId]);
      if (days > 0) await this._setPayment(c, account.accountId, "held", null, null, paymentId);
      return false;
    }
    const payment = await this._paymentById(c, paymentId);
    const ref = days > 0 ? `${payment.provider}:${payment.trans_id}` : undefined;
    // A device that carries coarser steps gets the days it can carry exactly; the rest waits as held days.
    const wanted = choice.days * 86400;
    const seconds = exactCredit(secretsOf(device.record), choice.kind, wanted, "down");
    const codeId = await this._issuePaid(c, account, { kind: choice.kind, seconds }, ref, device);
    const at = now.toISOString();
    await c.query(
      "UPDATE payments SET status = 'coded', code_id = $1, coded_at = $2 WHERE account_id = $3 AND status = 'held'",
      [codeId, at, account.accountId],
    );
    if (days > 0) await this._setPayment(c, account.accountId, "coded", codeId, at, paymentId);
    await c.query("UPDATE accounts SET held_days = $1 WHERE account_id = $2", [
      (wanted - seconds) / 86400,
      account.accountId,
    ]);
    return true;
  }

  /**
   * A payment's code, by the ledger's rules on the locked device row (fleet/ledger.ts codeSteps; the window rule has already
   * chosen it), with its SMS queued in this transaction. Returns the code's id.
   */
  private async _issuePaid(
    c: PoolClient,
    account: Account,
    code: CodeRequest,
    paymentRef: string | undefined,
    locked?: FleetDevice,
  ): Promise<number> {
    const device = locked ?? (await this._lockDevice(c, account.deviceId));
    const { issued, codeId } = await runPgSteps(
      c,
      codeSteps(device, { code, paymentRef, pastWindow: true }, this._now()),
    );
    if (!issued.replayed) await this.options.onCode?.(c, issued, account, device, codeId);
    return codeId;
  }

  /** The device, its row locked until the transaction ends: one issuer per device at a time, fleet-wide. */
  private _lockDevice(c: PoolClient, deviceId: number): Promise<FleetDevice> {
    return runPgSteps(c, deviceSteps({ key: this.key, where: this.where }, deviceId, true));
  }

  private async _lockAccount(c: PoolClient, accountId: number): Promise<AccountRow> {
    return (await c.query(`${ACCOUNT_SELECT} WHERE a.account_id = $1 FOR UPDATE OF a`, [accountId]))
      .rows[0] as AccountRow;
  }

  private async _accountRow(c: PoolClient, accountId: number): Promise<AccountRow> {
    return (await c.query(`${ACCOUNT_SELECT} WHERE a.account_id = $1`, [accountId])).rows[0] as AccountRow;
  }

  private async _setPayment(
    c: PoolClient,
    accountId: number,
    status: PaymentStatus,
    codeId: number | null,
    codedAt: string | null,
    paymentId: number,
  ): Promise<void> {
    await c.query(
      "UPDATE payments SET account_id = $1, status = $2, code_id = $3, coded_at = $4 WHERE payment_id = $5",
      [accountId, status, codeId, codedAt, paymentId],
    );
  }

  private async _match(c: PoolClient, accountRef: string, msisdn: string | null): Promise<AccountRow | undefined> {
    const all = async (where: string, args: unknown[]) =>
      (await c.query(`${ACCOUNT_SELECT} WHERE ${where} LIMIT 2`, args)).rows as AccountRow[];
    const bySerial = await all("a.serial_key = $1", [serialKey(accountRef)]);
    if (bySerial.length === 1) return bySerial[0];
    const refPhone = phoneDigits(accountRef, this.countryCode);
    if (refPhone !== undefined) {
      const rows = await all("a.phone = $1", [refPhone]);
      if (rows.length === 1) return rows[0];
    }
    const payer = readMsisdn(msisdn);
    let rows: AccountRow[] = [];
    if (payer.kind === "clear") rows = await all("a.phone = $1", [payer.digits]);
    else if (payer.kind === "hash") rows = await all("a.phone_sha256 = $1", [payer.hex]);
    else if (payer.kind === "masked") {
      const prefix = /^\d+/.exec(msisdn!.trim())![0];
      const candidates = (
        await c.query(`${ACCOUNT_SELECT} WHERE a.phone LIKE $1 AND length(a.phone) = $2`, [
          `${prefix}%`,
          msisdn!.trim().length,
        ])
      ).rows as AccountRow[];
      rows = candidates.filter((r) => payer.pattern.test(r.phone));
    }
    // A payer's number names an account only when it names exactly one (a shared phone pays for which device?).
    return rows.length === 1 ? rows[0] : undefined;
  }

  private async _accountBySerial(c: PoolClient, serial: string): Promise<AccountRow> {
    const row = (await c.query(`${ACCOUNT_SELECT} WHERE a.serial_key = $1`, [serialKey(serial)])).rows[0] as
      AccountRow | undefined;
    if (row === undefined)
      throw new UsageError(`no account for ${serial} in ${this.where}; see \`solkey account add\``);
    return row;
  }

  private async _existing(c: PoolClient, provider: string, transId: string, lock: boolean): Promise<PaymentRow> {
    const row = (
      await c.query(`SELECT * FROM payments WHERE provider = $1 AND trans_id = $2${lock ? " FOR UPDATE" : ""}`, [
        provider,
        transId,
      ])
    ).rows[0] as PaymentRow | undefined;
    if (row === undefined)
      throw new NotFoundError(`no ${provider} payment ${transId} in ${this.where}; see \`solkey payments orphans\``);
    return row;
  }

  private async _paymentByTrans(c: PoolClient, provider: string, transId: string): Promise<PaymentRow | undefined> {
    return (await c.query("SELECT * FROM payments WHERE provider = $1 AND trans_id = $2", [provider, transId]))
      .rows[0] as PaymentRow | undefined;
  }

  private async _paymentById(c: PoolClient, id: number): Promise<PaymentRow> {
    return (await c.query("SELECT * FROM payments WHERE payment_id = $1", [id])).rows[0] as PaymentRow;
  }

  private async _outcome(c: PoolClient, row: PaymentRow, replayed: boolean): Promise<PaymentOutcome> {
    let serial: string | null = null;
    let code: IssuedCode | null = null;
    if (row.account_id !== null) {
      const a = await this._accountRow(c, row.account_id);
      serial = a.serial;
      if (row.code_id !== null) {
        const co = (await c.query("SELECT * FROM codes WHERE code_id = $1", [row.code_id])).rows[0] as CodeRow;
        code = {
          serial: a.serial,
          deviceId: a.device_id,
          protocol: a.protocol,
          kind: co.kind,
          seq: co.seq,
          keycode: co.keycode,
          units: co.units,
          seconds: co.seconds,
          paymentRef: co.payment_ref,
          replayed,
          warning: null,
        };
      }
    }
    return {
      paymentId: row.payment_id,
      provider: row.provider,
      transId: row.trans_id,
      amount: row.amount,
      currency: row.currency,
      accountRef: row.account_ref,
      status: row.status,
      serial,
      code,
      replayed,
      receivedAt: row.received_at,
    };
  }

  private async _account(c: PoolClient, row: AccountRow): Promise<Account> {
    let plan = this.plansById.get(row.plan_id); // a plan never changes once added
    if (plan === undefined) {
      plan = planFromRow((await c.query("SELECT * FROM plans WHERE plan_id = $1", [row.plan_id])).rows[0] as PlanRow);
      this.plansById.set(row.plan_id, plan);
    }
    return accountFromRow(row, plan);
  }

  private _now(): string {
    return this.now().toISOString();
  }

  private _tx<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    return inPgTransaction(this.pool, this.where, work);
  }

  private _read<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    return withClient(this.pool, this.where, work);
  }
}
