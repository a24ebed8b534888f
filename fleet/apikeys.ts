// Operator API keys and the audit log (fleet migration 6), on SQLite or PostgreSQL: keys kept as SHA-256 hashes, the
// log append-only.
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "crypto";
import { UsageError } from "./errors";
import { metricsText } from "./metrics";
import { openSql, type Sql } from "./sql";
import type { AuditNote, PaymentOutcome } from "./store";

/** Ordered: a key may do what its scope and every smaller scope allow. */
export const SCOPES = ["read", "issue", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(text: string): text is Scope {
  return (SCOPES as readonly string[]).includes(text);
}

/** True when a key of scope `has` may do what needs `needs`. */
export function allows(has: Scope, needs: Scope): boolean {
  return SCOPES.indexOf(has) >= SCOPES.indexOf(needs);
}

export interface ApiKey {
  readonly keyId: number;
  readonly scope: Scope;
  readonly name: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface AuditEntry {
  readonly auditId: number;
  readonly keyId: number | null;
  readonly at: string;
  readonly action: string;
  readonly reason: string | null;
  /** What the action did, as JSON text (stored and returned as data). */
  readonly effect: string;
}

/** Keys are "sk_" + 64 hex digits: 256 random bits, so a hash without salt cannot be searched back. */
const KEY_PATTERN = /^sk_[0-9a-f]{64}$/;

interface KeyRow {
  key_id: number;
  scope: Scope;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

interface AuditRow {
  audit_id: number;
  key_id: number | null;
  at: string;
  action: string;
  reason: string | null;
  effect: string;
}

/**
 * The keys and the audit log, on either engine (async: on PostgreSQL each call is a round trip). The hub checks a
 * key on every operator request; `solkey apikey` creates, lists and revokes.
 */
export interface ApiKeys {
  /** A new key: the text is returned once and only its hash is stored. */
  create(scope: Scope, name: string): Promise<{ key: string; record: ApiKey }>;
  list(): Promise<ApiKey[]>;
  get(keyId: number): Promise<ApiKey>;
  /** Revokes for good (a revoked key is never valid again); revoking twice is a usage error. */
  revoke(keyId: number): Promise<ApiKey>;
  /** The live key whose text this is, or undefined (unknown, malformed or revoked). */
  authenticate(text: string): Promise<ApiKey | undefined>;
  /** Appends one entry (keyId null: the CLI, on the operator's machine). */
  audit(keyId: number | null, action: string, reason: string | null, effect: unknown): Promise<AuditEntry>;
  /** Entries after `after` (an audit id), oldest first, at most `limit`. */
  auditLog(after?: number, limit?: number): Promise<AuditEntry[]>;
  /** The fleet's counts for /metrics (Prometheus text). */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** The API keys of the fleet `db` names: an SQLite file or a postgres:// URL (no secret key needed). */
export async function openApiKeys(db: string, now: () => Date = () => new Date()): Promise<ApiKeys> {
  return new SqlApiKeys(await openSql(db), now);
}

/**
 * ApiKeys over either engine's Sql (fleet/sql.ts): the queries are the same text on both (migration 6 describes the
 * tables for both), so one implementation serves SQLite and PostgreSQL.
 */
export class SqlApiKeys implements ApiKeys {
  constructor(
    private readonly sql: Sql,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(scope: Scope, name: string): Promise<{ key: string; record: ApiKey }> {
    if (!isScope(scope)) throw new UsageError(`--scope expected read, issue or admin, got "${String(scope)}"`);
    if (name.length > 64) throw new UsageError("--name expected at most 64 characters");
    const key = "sk_" + randomBytes(32).toString("hex");
    const [row] = await this.sql.rows<KeyRow>(
      "INSERT INTO api_keys (key_sha256, scope, name, created_at) VALUES (?, ?, ?, ?) RETURNING *",
      [_hash(key), scope, name, this.now().toISOString()],
    );
    const record = _key(row);
    await this.audit(null, "apikey.create", null, { keyId: record.keyId, scope, name });
    return { key, record };
  }

  async list(): Promise<ApiKey[]> {
    return (await this.sql.rows<KeyRow>("SELECT * FROM api_keys ORDER BY key_id")).map(_key);
  }

  async get(keyId: number): Promise<ApiKey> {
    const [row] = await this.sql.rows<KeyRow>("SELECT * FROM api_keys WHERE key_id = ?", [keyId]);
    if (row === undefined) throw new UsageError(`no API key ${keyId}; \`solkey apikey list\` shows them`);
    return _key(row);
  }

  async revoke(keyId: number): Promise<ApiKey> {
    const key = await this.get(keyId);
    if (key.revokedAt !== null) throw new UsageError(`API key ${keyId} was revoked at ${key.revokedAt}`);
    // Only a live key: two operators revoking at once revoke it once, and the second is told.
    const [row] = await this.sql.rows<KeyRow>(
      "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL RETURNING *",
      [this.now().toISOString(), keyId],
    );
    if (row === undefined) return this.revoke(keyId);
    await this.audit(null, "apikey.revoke", null, { keyId });
    return _key(row);
  }

  async authenticate(text: string): Promise<ApiKey | undefined> {
    if (!KEY_PATTERN.test(text)) return undefined;
    const [row] = await this.sql.rows<KeyRow>("SELECT * FROM api_keys WHERE key_sha256 = ?", [_hash(text)]);
    // Looked up by hash, so the lookup's timing depends on the hash, never on how much of a guessed key is right.
    return row === undefined || row.revoked_at !== null ? undefined : _key(row);
  }

  async audit(keyId: number | null, action: string, reason: string | null, effect: unknown): Promise<AuditEntry> {
    const [row] = await this.sql.rows<AuditRow>(
      `${INSERT_AUDIT} RETURNING *`,
      auditArgs(keyId, this.now(), action, reason, effect),
    );
    return _audit(row);
  }

  async auditLog(after = 0, limit = 100): Promise<AuditEntry[]> {
    const rows = await this.sql.rows<AuditRow>("SELECT * FROM audit WHERE audit_id > ? ORDER BY audit_id LIMIT ?", [
      after,
      limit,
    ]);
    return rows.map(_audit);
  }

  metrics(): Promise<string> {
    return metricsText(this.sql);
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}

/**
 * An audit entry's row, the same text on both engines (`?` placeholders): a store appends it inside the transaction of
 * the change it records (FleetStore.operatorCode), so no change commits unaudited.
 */
export const INSERT_AUDIT = "INSERT INTO audit (key_id, at, action, reason, effect) VALUES (?, ?, ?, ?, ?)";

/**
 * The audit entry of an operator's action on a payment (assign, reverse, approve, release), by an API key or, with
 * no key, by the `actor` the command line names: the payment and its code's sequence, never the code (anyone could
 * type it).
 */
export function paymentAudit(
  keyId: number | null,
  action: string,
  reason: string | null,
  actor?: Readonly<Record<string, string>>,
): AuditNote<PaymentOutcome> {
  return {
    keyId,
    action,
    reason,
    effect: (payment) => ({
      ...(actor === undefined ? {} : { actor }),
      provider: payment.provider,
      transId: payment.transId,
      serial: payment.serial,
      status: payment.status,
      codeSeq: payment.code?.seq ?? null,
    }),
  };
}

export function auditArgs(
  keyId: number | null,
  at: Date,
  action: string,
  reason: string | null,
  effect: unknown,
): unknown[] {
  return [keyId, at.toISOString(), action, reason, JSON.stringify(effect)];
}

function _hash(key: string): Buffer {
  return Buffer.from(sha256(Buffer.from(key)));
}

function _key(row: KeyRow): ApiKey {
  return {
    keyId: row.key_id,
    scope: row.scope,
    name: row.name,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function _audit(row: AuditRow): AuditEntry {
  return {
    auditId: row.audit_id,
    keyId: row.key_id,
    at: row.at,
    action: row.action,
    reason: row.reason,
    effect: row.effect,
  };
}
