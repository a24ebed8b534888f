// Operator API keys and the audit log (fleet migration 6): keys kept as SHA-256 hashes, the log append-only.
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "crypto";
import { openFleet, type Db } from "./database";
import { UsageError } from "./errors";
import { metricsText } from "./metrics";

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

export class ApiKeys {
  private constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  static open(file: string, now: () => Date = () => new Date()): ApiKeys {
    return new ApiKeys(openFleet(file), now);
  }

  /** A new key: the text is returned once and only its hash is stored. */
  create(scope: Scope, name: string): { key: string; record: ApiKey } {
    if (!isScope(scope)) throw new UsageError(`--scope expected read, issue or admin, got "${String(scope)}"`);
    if (name.length > 64) throw new UsageError("--name expected at most 64 characters");
    const key = "sk_" + randomBytes(32).toString("hex");
    const at = this.now().toISOString();
    const { lastInsertRowid } = this.db
      .prepare("INSERT INTO api_keys (key_sha256, scope, name, created_at) VALUES (?, ?, ?, ?)")
      .run(Buffer.from(sha256(Buffer.from(key))), scope, name, at);
    const record = this.get(Number(lastInsertRowid));
    this.audit(null, "apikey.create", null, { keyId: record.keyId, scope, name });
    return { key, record };
  }

  list(): ApiKey[] {
    return (this.db.prepare("SELECT * FROM api_keys ORDER BY key_id").all() as KeyRow[]).map(_key);
  }

  get(keyId: number): ApiKey {
    const row = this.db.prepare("SELECT * FROM api_keys WHERE key_id = ?").get(keyId) as KeyRow | undefined;
    if (row === undefined) throw new UsageError(`no API key ${keyId}; \`solkey apikey list\` shows them`);
    return _key(row);
  }

  /** Revokes for good (a revoked key is never valid again); revoking twice is a usage error. */
  revoke(keyId: number): ApiKey {
    const key = this.get(keyId);
    if (key.revokedAt !== null) throw new UsageError(`API key ${keyId} was revoked at ${key.revokedAt}`);
    this.db.prepare("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?").run(this.now().toISOString(), keyId);
    this.audit(null, "apikey.revoke", null, { keyId });
    return this.get(keyId);
  }

  /** The live key whose text this is, or undefined (unknown, malformed or revoked). */
  authenticate(text: string): ApiKey | undefined {
    if (!KEY_PATTERN.test(text)) return undefined;
    const hash = Buffer.from(sha256(Buffer.from(text)));
    const row = this.db.prepare("SELECT * FROM api_keys WHERE key_sha256 = ?").get(hash) as KeyRow | undefined;
    // Looked up by hash, so the lookup's timing depends on the hash, never on how much of a guessed key is right.
    return row === undefined || row.revoked_at !== null ? undefined : _key(row);
  }

  /** Appends one entry (keyId null: the CLI, on the operator's machine). */
  audit(keyId: number | null, action: string, reason: string | null, effect: unknown): AuditEntry {
    const { lastInsertRowid } = this.db
      .prepare("INSERT INTO audit (key_id, at, action, reason, effect) VALUES (?, ?, ?, ?, ?)")
      .run(keyId, this.now().toISOString(), action, reason, JSON.stringify(effect));
    const row = this.db.prepare("SELECT * FROM audit WHERE audit_id = ?").get(lastInsertRowid) as AuditRow;
    return _audit(row);
  }

  /** Entries after `after` (an audit id), oldest first, at most `limit`. */
  auditLog(after = 0, limit = 100): AuditEntry[] {
    const rows = this.db
      .prepare("SELECT * FROM audit WHERE audit_id > ? ORDER BY audit_id LIMIT ?")
      .all(after, limit) as AuditRow[];
    return rows.map(_audit);
  }

  /** The fleet's counts for /metrics (Prometheus text). */
  metrics(): string {
    return metricsText(this.db);
  }

  close(): void {
    this.db.close();
  }
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
