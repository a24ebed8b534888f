// The fleet store on SQLite (better-sqlite3): the FleetStore interface over the fleet database file. Writes are
// group-committed: everything asked in one turn of the event loop runs in one IMMEDIATE transaction, each request in
// its own savepoint, and every promise settles only after the commit (WAL, synchronous=FULL: on disk). One fsync
// carries a whole burst of payments, so the hub keeps up with bursts without ever answering before the disk has it.
import { auditArgs, INSERT_AUDIT } from "./apikeys";
import type { Statement } from "better-sqlite3";
import { NotFoundError, RefusedError, UsageError } from "./errors";
import { GroupCommit } from "./groupcommit";
import { inTransaction, openFleet, type Db } from "./database";
import type { SecretKeySource } from "./sealing";
import { findDevice, sqliteFleet } from "./devices";
import { runSteps } from "./sql";
import { issueSteps, type CodeRow, type IssuedCode, type IssueRequest } from "./ledger";
import { parsePhone, phoneHash, readMsisdn, serialKey, phoneDigits } from "./accounts";
import { buy, creditCode, DAY_MS, type Money } from "./payments";
import { secretsOf, type CodeRequest } from "./codes";
import { exactCredit } from "./amounts";
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

export interface SqliteStoreOptions extends SecretKeySource {
  /** A code delivered this many days ago counts as entered (window rule). Default 3. */
  readonly enteredAfterDays?: number;
  /** The clock (tests run months of payments in seconds). */
  readonly now?: () => Date;
  /** For local numbers typed as account references (07XX...). Default 254. */
  readonly countryCode?: string;
  /**
   * Runs inside the transaction that issued `code` for `payment`, before it commits: the SMS outbox (issue 16)
   * writes its row here, so code, payment and message commit together. Returns the outbox message's id.
   */
  readonly onCode?: (db: Db, code: IssuedCode, account: Account, payment: PaymentOutcome | null) => number;
}

const ACCOUNT_SELECT = `SELECT a.*, d.serial, d.protocol FROM accounts a JOIN devices d ON d.device_id = a.device_id`;

export class SqliteStore implements FleetStore {
  private readonly enteredAfterMs: number;
  private readonly now: () => Date;
  private readonly countryCode: string;
  private readonly q: Record<string, Statement>;
  private readonly plansById = new Map<number, Plan>();
  private readonly prepared = new Map<string, Statement>();
  private readonly group: GroupCommit;

  private constructor(
    private readonly db: Db,
    readonly where: string,
    private readonly options: SqliteStoreOptions,
  ) {
    this.group = new GroupCommit(db, where);
    this.enteredAfterMs = (options.enteredAfterDays ?? 3) * DAY_MS;
    this.now = options.now ?? (() => new Date());
    this.countryCode = options.countryCode ?? "254";
    const p = (sql: string) => db.prepare(sql);
    this.q = {
      paymentByTrans: p("SELECT * FROM payments WHERE provider = ? AND trans_id = ?"),
      insertPayment: p(
        `INSERT INTO payments (provider, trans_id, amount, currency, short_code, account_ref, msisdn, paid_at,
           received_at, via, account_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setPayment: p("UPDATE payments SET account_id = ?, status = ?, code_id = ?, coded_at = ? WHERE payment_id = ?"),
      accountById: p(`${ACCOUNT_SELECT} WHERE a.account_id = ?`),
      accountBySerial: p(`${ACCOUNT_SELECT} WHERE a.serial_key = ?`),
      accountsByPhone: p(`${ACCOUNT_SELECT} WHERE a.phone = ? LIMIT 2`),
      accountsByHash: p(`${ACCOUNT_SELECT} WHERE a.phone_sha256 = ? LIMIT 2`),
      accountsByPrefix: p(`${ACCOUNT_SELECT} WHERE a.phone LIKE ? AND length(a.phone) = ?`),
      saveMoney: p(
        `UPDATE accounts SET paid = ?, deposit_due = ?, remainder = ?, days_bought = ?, held_days = ?, paid_until = ?,
           unlock = ? WHERE account_id = ?`,
      ),
      codeById: p("SELECT code_id FROM codes WHERE device_id = ? ORDER BY code_id DESC LIMIT 1"),
      heldPayments: p(
        "UPDATE payments SET status = 'coded', code_id = ?, coded_at = ? WHERE account_id = ? AND status = 'held'",
      ),
      addHeld: p("UPDATE accounts SET held_days = held_days + ? WHERE account_id = ?"),
      setHeld: p("UPDATE accounts SET held_days = ? WHERE account_id = ?"),
      paymentById: p("SELECT * FROM payments WHERE payment_id = ?"),
      code: p("SELECT * FROM codes WHERE code_id = ?"),
    };
  }

  /** Opens the fleet database at `file` (it must exist: `solkey provision` makes it). */
  static open(file: string, options: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(openFleet(file, options), file, options);
  }

  // ---- plans and accounts

  async addPlan(spec: PlanSpec): Promise<Plan> {
    return this.group.run(() => {
      try {
        const r = this.db
          .prepare(
            `INSERT INTO plans (name, currency, per_day, min_payment, deposit, total, approve_unlock, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            spec.name,
            spec.currency,
            spec.perDay,
            spec.minPayment,
            spec.deposit,
            spec.total,
            spec.approveUnlock ? 1 : 0,
            this._now(),
          );
        return { ...spec, planId: Number(r.lastInsertRowid) };
      } catch (e) {
        if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE")
          throw new UsageError(`plan ${spec.name} is already in ${this.where}; choose another name`);
        throw e;
      }
    });
  }

  async plans(): Promise<Plan[]> {
    return (this.db.prepare("SELECT * FROM plans ORDER BY name").all() as PlanRow[]).map(planFromRow);
  }

  async addAccount(spec: AccountSpec): Promise<Account> {
    return this.group.run(() => {
      // The serial as the operator typed it, or as matching reads it (any case, spaces, dashes).
      const typed = this.db
        .prepare("SELECT serial FROM devices WHERE upper(replace(replace(serial, '-', ''), ' ', '')) = ?")
        .get(serialKey(spec.device)) as { serial: string } | undefined;
      const device = findDevice(this.db, this.where, typed?.serial ?? spec.device);
      const plan = this.db.prepare("SELECT * FROM plans WHERE name = ?").get(spec.plan) as PlanRow | undefined;
      if (plan === undefined)
        throw new UsageError(`no plan ${spec.plan} in ${this.where}. Add it with \`solkey plan add ${spec.plan} ...\``);
      const phone = parsePhone(spec.phone, this.countryCode);
      try {
        const r = this.db
          .prepare(
            `INSERT INTO accounts (device_id, serial_key, phone, phone_sha256, plan_id, language, deposit_due, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            device.deviceId,
            serialKey(device.serial),
            phone,
            phoneHash(phone),
            plan.plan_id,
            spec.language,
            plan.deposit,
            this._now(),
          );
        return this._account(this.q.accountById.get(r.lastInsertRowid) as AccountRow);
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith("SQLITE_CONSTRAINT"))
          throw new UsageError(`${device.serial} already has an account in ${this.where}`);
        throw e;
      }
    });
  }

  async account(serial: string): Promise<Account> {
    const row = this.q.accountBySerial.get(serialKey(serial)) as AccountRow | undefined;
    if (row === undefined)
      throw new NotFoundError(
        `no account for ${serial} in ${this.where}. Add one with \`solkey account add ${serial} ...\``,
      );
    return this._account(row);
  }

  async matchAccount(accountRef: string, msisdn: string | null): Promise<Account | undefined> {
    const row = this._match(accountRef, msisdn);
    return row === undefined ? undefined : this._account(row);
  }

  async check(p: Pick<IncomingPayment, "accountRef" | "msisdn" | "amount" | "currency">): Promise<Verdict> {
    const row = this._match(p.accountRef, p.msisdn);
    if (row === undefined) return { ok: false, reason: "unknown_account" };
    const account = this._account(row);
    if (account.plan.currency !== p.currency) return { ok: false, reason: "wrong_currency" };
    if (p.amount < account.plan.minPayment) return { ok: false, reason: "below_minimum" };
    return { ok: true, account };
  }

  // ---- payments

  receive(payment: IncomingPayment): Promise<PaymentOutcome> {
    return this.group.run(() => {
      const before = this.q.paymentByTrans.get(payment.provider, payment.transId) as PaymentRow | undefined;
      if (before !== undefined) return this._outcome(before, true);
      const row = this._match(payment.accountRef, payment.msisdn);
      const account = row === undefined ? undefined : this._account(row);
      const wrongCurrency = account !== undefined && account.plan.currency !== payment.currency;
      const r = this.q.insertPayment.run(
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
        null,
        "orphan",
      );
      const paymentId = Number(r.lastInsertRowid);
      if (account !== undefined && !wrongCurrency) this._credit(paymentId, account);
      return this._outcome(this._paymentById(paymentId), false);
    });
  }

  async payment(provider: string, transId: string): Promise<PaymentOutcome | undefined> {
    const row = this.q.paymentByTrans.get(provider, transId) as PaymentRow | undefined;
    return row === undefined ? undefined : this._outcome(row, false);
  }

  async orphans(): Promise<PaymentOutcome[]> {
    const rows = this.db.prepare("SELECT * FROM payments WHERE status = 'orphan' ORDER BY payment_id").all();
    return (rows as PaymentRow[]).map((row) => this._outcome(row, false));
  }

  assign(
    provider: string,
    transId: string,
    serial: string,
    audit?: AuditNote<PaymentOutcome>,
  ): Promise<PaymentOutcome> {
    return this.group.run(() =>
      this._audited(audit, () => {
        const row = this._existing(provider, transId);
        if (row.status !== "orphan")
          throw new UsageError(`payment ${transId} is not an orphan (it is ${row.status}); nothing to assign`);
        const account = this._accountBySerial(serial);
        if (account.plan.currency !== row.currency)
          throw new UsageError(
            `payment ${transId} is in ${row.currency}; ${serial}'s plan is in ${account.plan.currency}`,
          );
        this._credit(row.payment_id, account);
        return this._outcome(this._paymentById(row.payment_id), false);
      }),
    );
  }

  reverse(provider: string, transId: string, note: string, audit?: AuditNote<PaymentOutcome>): Promise<PaymentOutcome> {
    return this.group.run(() =>
      this._audited(audit, () => {
        const row = this._existing(provider, transId);
        if (row.status === "reversed") return this._outcome(row, true);
        if (row.account_id !== null) {
          const a = this.q.accountById.get(row.account_id) as AccountRow;
          // The money is owed again: it comes off what the next payments buy (a code already issued stays issued).
          this.q.saveMoney.run(
            a.paid - row.amount,
            a.deposit_due,
            a.remainder - row.amount,
            a.days_bought,
            a.held_days,
            a.paid_until,
            a.unlock,
            a.account_id,
          );
        }
        this.db
          .prepare("UPDATE payments SET status = 'reversed', reversed_at = ?, note = ? WHERE payment_id = ?")
          .run(this._now(), note, row.payment_id);
        return this._outcome(this._paymentById(row.payment_id), false);
      }),
    );
  }

  approveUnlock(serial: string): Promise<PaymentOutcome> {
    return this.group.run(() => {
      const account = this._accountBySerial(serial);
      if (account.unlock !== "pending") throw new UsageError(`${account.serial} has no unlock waiting for approval`);
      const row = this.db
        .prepare("SELECT * FROM payments WHERE account_id = ? AND status = 'unlock_pending' ORDER BY payment_id DESC")
        .get(account.accountId) as PaymentRow;
      const code = this._issue(account, { kind: "unlock" }, `${row.provider}:${row.trans_id}`);
      this.q.setPayment.run(account.accountId, "coded", this._codeId(account), this._now(), row.payment_id);
      this.db.prepare("UPDATE accounts SET unlock = 'issued' WHERE account_id = ?").run(account.accountId);
      const outcome = this._outcome(this._paymentById(row.payment_id), false);
      this.options.onCode?.(this.db, code, account, outcome);
      return outcome;
    });
  }

  releaseHeld(): Promise<PaymentOutcome[]> {
    return this.group.run(() => {
      const ids = this.db.prepare("SELECT account_id FROM accounts WHERE held_days > 0").all() as {
        account_id: number;
      }[];
      const out: PaymentOutcome[] = [];
      for (const { account_id } of ids) {
        const account = this._account(this.q.accountById.get(account_id) as AccountRow);
        // Held payments, or only the days a coarse device could not carry (the newest payment stands for them).
        const last = this.db
          .prepare(
            "SELECT payment_id FROM payments WHERE account_id = ? ORDER BY status = 'held' DESC, payment_id DESC",
          )
          .get(account_id) as { payment_id: number };
        if (this._codeCredit(account, 0, last.payment_id))
          out.push(this._outcome(this._paymentById(last.payment_id), false));
      }
      return out;
    });
  }

  // ---- the operator API

  async listDevices(query: DeviceQuery): Promise<Page<Device>> {
    const ids = this._all<{ device_id: number }>(deviceIdsSql(query, this.countryCode));
    const { rows, next } = pageOf(ids, query.limit, (r) => r.device_id);
    return { items: rows.map((r) => this._device(r.device_id)), next };
  }

  async device(serial: string): Promise<Device> {
    return this._device(this._deviceId(serial));
  }

  async listPayments(query: PaymentQuery): Promise<Page<PaymentOutcome>> {
    const found = this._all<PaymentRow>(paymentsSql(query, this.countryCode));
    const { rows, next } = pageOf(found, query.limit, (r) => r.payment_id);
    return { items: rows.map((r) => this._outcome(r, false)), next };
  }

  async listCodes(query: CodeQuery): Promise<Page<Code>> {
    const deviceId = query.serial === undefined ? undefined : this._deviceId(query.serial);
    const found = this._all<CodeListRow>(codesSql(deviceId, query));
    const { rows, next } = pageOf(found, query.limit, (r) => r.code_id);
    return { items: rows.map(codeFromRow), next };
  }

  operatorCode(serial: string, request: OperatorRequest, audit: AuditNote): Promise<OperatorIssued> {
    return this.group.run(() => {
      const device = findDevice(this.db, this.where, String(this._deviceId(serial)));
      const row = this.db.prepare(`${ACCOUNT_SELECT} WHERE a.device_id = ?`).get(device.deviceId) as
        AccountRow | undefined;
      const account = row === undefined ? null : this._account(row);
      const now = this.now();
      const plan = planOperatorCode(request, secretsOf(device.record), owedDays(account?.paidUntil ?? null, now));
      const delivered = this._delivered(device.deviceId, account?.accountId ?? null, now);
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
      const code = this._ledgerIssue({ device: String(device.deviceId), code: plan.request, pastWindow: true });
      const effect = account === null ? null : accountEffect(request, account, now);
      if (account !== null && effect !== null)
        this.db
          .prepare("UPDATE accounts SET paid_until = ?, held_days = ?, unlock = ? WHERE account_id = ?")
          .run(effect.paidUntil, effect.heldDays, effect.unlock, account.accountId);
      const after = account === null ? null : this._account(this.q.accountById.get(account.accountId) as AccountRow);
      const smsMessageId = onCode === undefined || after === null ? null : onCode(this.db, code, after, null);
      const codeRow = this.db.prepare(`${CODE_SELECT} WHERE c.code_id = ?`).get(this._codeId(device)) as CodeListRow;
      const done = { code: codeFromRow(codeRow), chose: plan.chose, effect, smsMessageId };
      return { ...done, auditId: this._audit(audit, done) };
    });
  }

  /** Appends `audit`'s entry of `done` in the open transaction; its id. */
  private _audit<T>(audit: AuditNote<T>, done: T): number {
    const args = auditArgs(audit.keyId, this.now(), audit.action, audit.reason, audit.effect(done));
    return (this.db.prepare(`${INSERT_AUDIT} RETURNING audit_id`).get(...args) as { audit_id: number }).audit_id;
  }

  /** `work`, then its audit entry when asked, in the one open transaction. */
  private _audited<T>(audit: AuditNote<T> | undefined, work: () => T): T {
    const done = work();
    if (audit !== undefined) this._audit(audit, done);
    return done;
  }

  async close(): Promise<void> {
    await this.group.drain();
    this.db.close();
  }

  /** The SMS hook for an operator's code, or a RefusedError naming why no SMS can go. */
  private _smsHook(request: OperatorRequest, account: Account | null): NonNullable<SqliteStoreOptions["onCode"]> {
    const hook = this.options.onCode;
    if (hook === undefined) throw new RefusedError("no_sms", "this hub has no SMS outbox; ask without sms");
    if (account === null) throw new RefusedError("no_sms", "this device has no account, so no phone to send to");
    if (!sendsSms(request.action))
      throw new RefusedError("no_sms", `a ${request.action} code has no SMS text (goodwill, unlock and desired do)`);
    return hook;
  }

  private _deviceId(serial: string): number {
    const row = this._all<{ device_id: number }>(deviceBySerialSql(serial))[0];
    if (row === undefined) throw new NotFoundError(`no device ${serial} in ${this.where}`);
    return row.device_id;
  }

  private _device(deviceId: number): Device {
    const now = this.now();
    const row = this._all<DeviceSummaryRow>(deviceSummarySql(deviceId, this._assumedBefore(now)))[0];
    const account =
      row.account_id === null ? null : this._account(this.q.accountById.get(row.account_id) as AccountRow);
    const last =
      row.last_code_id === null
        ? null
        : codeFromRow(this.db.prepare(`${CODE_SELECT} WHERE c.code_id = ?`).get(row.last_code_id) as CodeListRow);
    return deviceFromRows(row, account, last, now);
  }

  /** Runs a shared query; each text is prepared once (the window rule's runs on every payment). */
  private _all<T>(sql: Sql): T[] {
    let statement = this.prepared.get(sql.text);
    if (statement === undefined) {
      statement = this.db.prepare(sql.text);
      this.prepared.set(sql.text, statement);
    }
    return statement.all(...sql.args) as T[];
  }

  /** A payment's code delivered at or before this counts as entered (window rule). */
  private _assumedBefore(now: Date): string {
    return new Date(now.getTime() - this.enteredAfterMs).toISOString();
  }

  /** The highest ID/count assumed entered by delivery time (storequeries.ts DELIVERED), or null. */
  private _delivered(deviceId: number, accountId: number | null, now: Date): number | null {
    return this._all<{ seq: number | null }>(deliveredSql(deviceId, accountId, this._assumedBefore(now)))[0].seq;
  }

  // ---- inside a transaction

  /** A matched payment's effect on its account: what it buys, then the code the window rule picks. */
  private _credit(paymentId: number, account: Account): void {
    const payment = this._paymentById(paymentId);
    const bought = buy(account.plan, account, payment.amount);
    const now = this.now();
    let paidUntil = account.paidUntil;
    if (bought.days > 0) {
      const from = Math.max(now.getTime(), paidUntil === null ? 0 : Date.parse(paidUntil));
      paidUntil = new Date(from + bought.days * DAY_MS).toISOString();
    }
    const m: Money = bought.money;
    this.q.saveMoney.run(
      m.paid,
      m.depositDue,
      m.remainder,
      account.daysBought + bought.days,
      account.heldDays,
      paidUntil,
      m.unlock,
      account.accountId,
    );
    this.q.setPayment.run(account.accountId, bought.status, null, null, paymentId);
    const updated = this._account(this.q.accountById.get(account.accountId) as AccountRow);
    if (bought.unlock && bought.status === "coded") {
      const code = this._issue(updated, { kind: "unlock" }, `${payment.provider}:${payment.trans_id}`);
      this.q.setPayment.run(account.accountId, "coded", this._codeId(updated), this._now(), paymentId);
      this.options.onCode?.(this.db, code, updated, this._outcome(this._paymentById(paymentId), false));
    } else if (bought.days > 0) this._codeCredit(updated, bought.days, paymentId);
  }

  /** Codes `days` (and any held days) by the window rule, or holds them; true when a code was issued. */
  private _codeCredit(account: Account, days: number, paymentId: number): boolean {
    const device = findDevice(this.db, this.where, String(account.deviceId));
    const now = this.now();
    const delivered = this._delivered(device.deviceId, account.accountId, now);
    const choice = creditCode({
      protocol: device.record.protocol,
      issuedSeq: device.issuedSeq,
      assumedEntered: Math.max(device.enteredSeq, delivered ?? -Infinity),
      days,
      heldDays: account.heldDays,
      owedDays: owedDays(account.paidUntil, now),
    });
    const payment = this._paymentById(paymentId);
    if (choice.kind === "hold") {
      this.q.addHeld.run(days, account.accountId);
      if (days > 0) this.q.setPayment.run(account.accountId, "held", null, null, paymentId);
      return false;
    }
    const ref = days > 0 ? `${payment.provider}:${payment.trans_id}` : undefined;
    // A device that carries coarser steps (Nexus small above 90 days) gets the days it can carry exactly; the rest
    // waits as held days for the next code, so nothing paid is lost and nothing unpaid is given.
    const wanted = choice.days * 86400;
    const seconds = exactCredit(secretsOf(device.record), choice.kind, wanted, "down");
    const code = this._issue(account, { kind: choice.kind, seconds }, ref);
    const codeId = this._codeId(account);
    const at = now.toISOString();
    // Held payments imply held days (a hold adds its days), so an account without any has no held payment to code.
    if (account.heldDays > 0) this.q.heldPayments.run(codeId, at, account.accountId);
    if (days > 0) this.q.setPayment.run(account.accountId, "coded", codeId, at, paymentId);
    const heldDays = (wanted - seconds) / 86400;
    if (heldDays !== account.heldDays) this.q.setHeld.run(heldDays, account.accountId);
    this.options.onCode?.(this.db, code, account, this._outcome(this._paymentById(paymentId), false));
    return true;
  }

  /** The ledger issues (its own window guard already answered by the window rule: past it only by assumption). */
  private _issue(account: Account, code: CodeRequest, paymentRef: string | undefined): IssuedCode {
    return this._ledgerIssue({ device: String(account.deviceId), code, paymentRef, pastWindow: true });
  }

  /** fleet/ledger.ts's issueSteps in a savepoint of the caller's transaction. */
  private _ledgerIssue(request: IssueRequest): IssuedCode {
    const fleet = sqliteFleet(this.db, this.where);
    const now = new Date().toISOString();
    return inTransaction(this.db, this.where, () => runSteps(this.db, issueSteps(fleet, request, now))).issued;
  }

  private _codeId(device: Pick<Account, "deviceId">): number {
    return (this.q.codeById.get(device.deviceId) as { code_id: number }).code_id;
  }

  private _match(accountRef: string, msisdn: string | null): AccountRow | undefined {
    const bySerial = this.q.accountBySerial.get(serialKey(accountRef)) as AccountRow | undefined;
    if (bySerial !== undefined) return bySerial;
    const refPhone = phoneDigits(accountRef, this.countryCode);
    if (refPhone !== undefined) {
      const rows = this.q.accountsByPhone.all(refPhone) as AccountRow[];
      if (rows.length === 1) return rows[0];
    }
    const payer = readMsisdn(msisdn);
    let rows: AccountRow[] = [];
    if (payer.kind === "clear") rows = this.q.accountsByPhone.all(payer.digits) as AccountRow[];
    else if (payer.kind === "hash") rows = this.q.accountsByHash.all(payer.hex) as AccountRow[];
    else if (payer.kind === "masked") {
      const prefix = /^\d+/.exec(msisdn!.trim())![0];
      const all = this.q.accountsByPrefix.all(`${prefix}%`, msisdn!.trim().length) as AccountRow[];
      rows = all.filter((r) => payer.pattern.test(r.phone));
    }
    // A payer's number names an account only when it names exactly one (a shared phone pays for which device?).
    return rows.length === 1 ? rows[0] : undefined;
  }

  private _accountBySerial(serial: string): Account {
    const row = this.q.accountBySerial.get(serialKey(serial)) as AccountRow | undefined;
    if (row === undefined)
      throw new UsageError(`no account for ${serial} in ${this.where}; see \`solkey account add\``);
    return this._account(row);
  }

  private _existing(provider: string, transId: string): PaymentRow {
    const row = this.q.paymentByTrans.get(provider, transId) as PaymentRow | undefined;
    if (row === undefined)
      throw new NotFoundError(`no ${provider} payment ${transId} in ${this.where}; see \`solkey payments orphans\``);
    return row;
  }

  private _paymentById(id: number): PaymentRow {
    return this.q.paymentById.get(id) as PaymentRow;
  }

  private _outcome(row: PaymentRow, replayed: boolean): PaymentOutcome {
    let serial: string | null = null;
    let code: IssuedCode | null = null;
    if (row.account_id !== null) {
      const a = this.q.accountById.get(row.account_id) as AccountRow;
      serial = a.serial;
      if (row.code_id !== null) {
        const c = this.q.code.get(row.code_id) as CodeRow;
        code = {
          serial: a.serial,
          deviceId: a.device_id,
          protocol: a.protocol,
          kind: c.kind,
          seq: c.seq,
          keycode: c.keycode,
          units: c.units,
          seconds: c.seconds,
          paymentRef: c.payment_ref,
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

  private _account(row: AccountRow): Account {
    let plan = this.plansById.get(row.plan_id);
    if (plan === undefined) {
      plan = planFromRow(this.db.prepare("SELECT * FROM plans WHERE plan_id = ?").get(row.plan_id) as PlanRow);
      this.plansById.set(row.plan_id, plan);
    }
    return accountFromRow(row, plan);
  }

  private _now(): string {
    return this.now().toISOString();
  }
}
