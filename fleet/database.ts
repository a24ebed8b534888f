// The fleet database: one SQLite file (better-sqlite3) holding devices, their secrets and every code issued to them.
// Opening it applies the schema migrations below in order, each in its own transaction, tracked by `user_version`.
//
// Durability: WAL with synchronous=FULL, so a code is on disk before the command prints it. A code handed to a
// customer and then lost by a power cut would let the next issue reuse its ID or count: two different codes with one
// ID, of which the device accepts only the first typed. Batch issuing (one transaction per batch) buys the speed.
import type Database from "better-sqlite3";
import fs from "fs";
import { createRequire } from "module";
import path from "path";
import { SolkeyError, UsageError } from "./errors";
import {
  givenSecretKey,
  keyBeside,
  keyFileBeside,
  recordedFingerprint,
  SecretKey,
  unlockFleet,
  type SecretKeySource,
} from "./sealing";
import { SMS_MIGRATION } from "./smsschema";

export type Db = Database.Database;

/** better-sqlite3, loaded at the first open: its native module costs every start, and `solkey help` needs no database. */
let _sqlite: typeof Database | undefined;

/** Each entry moves the schema from version i to i + 1. Append only: a released migration never changes. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
   CREATE TABLE batches (
     batch_id INTEGER PRIMARY KEY,
     created_at TEXT NOT NULL,
     key_source TEXT NOT NULL CHECK (key_source IN ('hkdf', 'random')),
     profile TEXT NOT NULL,
     device_count INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE devices (
     device_id INTEGER PRIMARY KEY CHECK (device_id BETWEEN 0 AND 4294967295),
     serial TEXT NOT NULL UNIQUE,
     batch_id INTEGER NOT NULL REFERENCES batches (batch_id),
     protocol TEXT NOT NULL CHECK (protocol IN ('openpaygo', 'nexus-full', 'nexus-small')),
     image BLOB NOT NULL,
     issued_seq INTEGER NOT NULL,
     entered_seq INTEGER NOT NULL,
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE codes (
     code_id INTEGER PRIMARY KEY,
     device_id INTEGER NOT NULL REFERENCES devices (device_id),
     seq INTEGER,
     kind TEXT NOT NULL,
     request TEXT NOT NULL,
     units INTEGER,
     seconds INTEGER,
     keycode TEXT NOT NULL,
     payment_ref TEXT UNIQUE,
     issued_at TEXT NOT NULL,
     entered_at TEXT,
     UNIQUE (device_id, seq)
   ) STRICT;
   CREATE INDEX codes_by_device ON codes (device_id, code_id);
   CREATE TABLE packages (name TEXT PRIMARY KEY, seconds INTEGER NOT NULL CHECK (seconds > 0)) STRICT;
   INSERT INTO packages VALUES ('day', 86400), ('week', 604800), ('month', 2592000);`,
  // 2: operator recoveries of corrupt journals (fleet/recovery.ts): what was written to the device and why.
  `CREATE TABLE recoveries (
     recovery_id INTEGER PRIMARY KEY,
     device_id INTEGER NOT NULL REFERENCES devices (device_id),
     recovered_at TEXT NOT NULL,
     issued_seq INTEGER NOT NULL,
     entered_seq_before INTEGER NOT NULL,
     unlocked INTEGER NOT NULL CHECK (unlocked IN (0, 1)),
     credit_seconds INTEGER NOT NULL CHECK (credit_seconds >= 0 AND (unlocked = 0 OR credit_seconds = 0)),
     record BLOB NOT NULL,
     note TEXT
   ) STRICT;
   CREATE INDEX recoveries_by_device ON recoveries (device_id, recovery_id);`,
  // 3: empty. Sealing device secrets at rest needs the secret key, which SQL does not have, and fleets made while this
  // slot was a placeholder are already past it: fleet/sealing.ts seals a fleet at open, versioned by meta
  // `secrets_format` (1: AES-256-GCM) and enforced by triggers it adds. The per-fleet salt is meta `kdf_salt`.
  ``,
  // 4: the hub (fleet/sqlitestore.ts): plans, accounts and payments, each payment once per (provider, transaction
  // id). Money is integer minor units; `remainder` is paid money not yet turned into credit (negative after a
  // reversal: owed back first); `held_days` is credit paid for but not yet issued (window rule, ARCHITECTURE.md).
  `CREATE TABLE plans (
     plan_id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     currency TEXT NOT NULL CHECK (length(currency) = 3),
     per_day INTEGER NOT NULL CHECK (per_day > 0),
     min_payment INTEGER NOT NULL CHECK (min_payment >= 0),
     deposit INTEGER NOT NULL CHECK (deposit >= 0),
     total INTEGER CHECK (total IS NULL OR total > 0),
     approve_unlock INTEGER NOT NULL CHECK (approve_unlock IN (0, 1)),
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE accounts (
     account_id INTEGER PRIMARY KEY,
     device_id INTEGER NOT NULL UNIQUE REFERENCES devices (device_id),
     serial_key TEXT NOT NULL UNIQUE,
     phone TEXT NOT NULL,
     phone_sha256 TEXT NOT NULL,
     plan_id INTEGER NOT NULL REFERENCES plans (plan_id),
     language TEXT NOT NULL CHECK (language IN ('en', 'sw', 'fr')),
     paid INTEGER NOT NULL DEFAULT 0,
     deposit_due INTEGER NOT NULL CHECK (deposit_due >= 0),
     remainder INTEGER NOT NULL DEFAULT 0,
     days_bought INTEGER NOT NULL DEFAULT 0,
     held_days INTEGER NOT NULL DEFAULT 0 CHECK (held_days >= 0),
     paid_until TEXT,
     unlock TEXT NOT NULL DEFAULT 'no' CHECK (unlock IN ('no', 'pending', 'issued')),
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE INDEX accounts_by_phone ON accounts (phone);
   CREATE INDEX accounts_by_phone_hash ON accounts (phone_sha256);
   CREATE TABLE payments (
     payment_id INTEGER PRIMARY KEY,
     provider TEXT NOT NULL,
     trans_id TEXT NOT NULL,
     amount INTEGER NOT NULL CHECK (amount > 0),
     currency TEXT NOT NULL,
     short_code TEXT,
     account_ref TEXT NOT NULL,
     msisdn TEXT,
     paid_at TEXT,
     received_at TEXT NOT NULL,
     via TEXT NOT NULL CHECK (via IN ('callback', 'reconcile')),
     account_id INTEGER REFERENCES accounts (account_id),
     status TEXT NOT NULL,
     code_id INTEGER REFERENCES codes (code_id),
     coded_at TEXT,
     reversed_at TEXT,
     note TEXT,
     UNIQUE (provider, trans_id)
   ) STRICT;
   CREATE INDEX payments_by_account ON payments (account_id, payment_id);
   CREATE INDEX payments_by_status ON payments (status, payment_id);`,
  SMS_MIGRATION,
  // 6: the operator API (fleet/apikeys.ts): keys stored as SHA-256 of 256 random bits (a leaked database gives no
  // key), and the audit log, append-only: the triggers refuse any UPDATE or DELETE, whatever the code path.
  `CREATE TABLE api_keys (
     key_id INTEGER PRIMARY KEY,
     key_sha256 BLOB NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
     scope TEXT NOT NULL CHECK (scope IN ('read', 'issue', 'admin')),
     name TEXT NOT NULL,
     created_at TEXT NOT NULL,
     revoked_at TEXT
   ) STRICT;
   CREATE TABLE audit (
     audit_id INTEGER PRIMARY KEY,
     key_id INTEGER REFERENCES api_keys (key_id),
     at TEXT NOT NULL,
     action TEXT NOT NULL,
     reason TEXT,
     effect TEXT NOT NULL
   ) STRICT;
   CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
   CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenOptions extends SecretKeySource {
  /** Create the file if it does not exist (provisioning); otherwise a missing file is a usage error. */
  readonly create?: boolean;
  /** Milliseconds to wait for another writer (default 10,000: a 10,000-device batch holds the lock for seconds). */
  readonly busyTimeout?: number;
}

/** True for a `postgres://` or `postgresql://` URL: the fleet lives on a PostgreSQL server (fleet/pgstore.ts). */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** Opens (and migrates) the fleet database at `file`. Every failure is one SolkeyError/UsageError line. */
export function openFleet(file: string, options: OpenOptions = {}): Db {
  if (file === "") throw new UsageError("--db expected a file name, got an empty one");
  // Every command that takes --db opens a URL through fleet/ledger.ts or the fleet store; this is for the rest.
  if (isPostgresUrl(file)) throw new UsageError(`this takes a SQLite fleet file, not a postgres:// URL (${file})`);
  const stat = file === ":memory:" ? undefined : _stat(file);
  if (stat?.isDirectory()) throw new UsageError(`${file} is a directory; --db expected the fleet database file`);
  // An empty file is not a fleet: only provisioning turns it into one (a typo'd --db must not become a database).
  if (stat !== undefined && stat.size === 0 && !options.create)
    throw new UsageError(`${file} is empty, not a fleet database; pass the right --db, or provision into it`);
  if (file !== ":memory:" && !options.create && !fs.existsSync(file))
    throw new UsageError(`no fleet database at ${file}. Run \`solkey provision --db ${file} ...\` first, or pass --db`);
  if (file !== ":memory:" && options.create && !_isDirectory(path.dirname(file)))
    throw new UsageError(
      `no directory ${path.dirname(file)} for the fleet database ${file}; create it, or pass another --db`,
    );
  // The key given (file or environment) is read before anything is created: a bad key file changes nothing.
  const given = givenSecretKey(options);
  // A new fleet holds device secrets: created readable by its owner only (SQLite gives its WAL files the same mode).
  if (options.create && file !== ":memory:" && !fs.existsSync(file)) _createPrivate(file);
  let db: Db | undefined;
  try {
    _sqlite ??= createRequire(__filename)("better-sqlite3") as typeof Database;
    db = new _sqlite(file, { timeout: options.busyTimeout ?? 10_000 });
    _expectFleet(db, file); // before any pragma writes: someone else's database stays byte for byte as it was
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    // Savepoint journals (one per write in a group commit, fleet/groupcommit.ts) in memory, not in temp files: they
    // only roll back a savepoint inside a live transaction, so durability is the WAL's alone. Measured: 450 instead
    // of 650 us per hub payment.
    db.pragma("temp_store = MEMORY");
    _migrate(db, file);
    // Device secrets are sealed under the secret key (fleet/sealing.ts): bound to this handle, or the open fails.
    const key =
      given ??
      (file === ":memory:"
        ? SecretKey.random()
        : keyBeside(file, keyFileBeside(file), recordedFingerprint(db), options.notice));
    unlockFleet(db, file, key);
    return db;
  } catch (e) {
    db?.close();
    throw fleetError(e, file);
  }
}

/** Runs `work` in one IMMEDIATE transaction (it takes the write lock first, so two issuers never interleave). */
export function inTransaction<T>(db: Db, file: string, work: () => T): T {
  try {
    return db.transaction(work).immediate();
  } catch (e) {
    throw fleetError(e, file);
  }
}

/** SQLite's failures as one line naming the fix; solkey's own errors pass through. */
export function fleetError(e: unknown, file: string): Error {
  if (e instanceof UsageError || e instanceof SolkeyError) return e;
  const code = (e as { code?: string }).code ?? "";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
    return new SolkeyError(`${file} is locked by another solkey or SQLite process; retry when it has finished`);
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT")
    return new SolkeyError(`${file} is not a readable fleet database (corrupt?); restore it from a backup`);
  if (code === "SQLITE_CANTOPEN" || code === "SQLITE_READONLY" || code === "SQLITE_IOERR" || code === "SQLITE_FULL")
    return new SolkeyError(`cannot write ${file} (${code}): check the path, its permissions and free disk space`);
  if (code.startsWith("SQLITE_")) return new SolkeyError(`${file}: ${(e as Error).message} (${code})`);
  return e as Error;
}

function _createPrivate(file: string): void {
  try {
    fs.writeFileSync(file, "", { mode: 0o600, flag: "wx" });
  } catch (e) {
    throw new SolkeyError(
      `cannot create ${file} (${(e as NodeJS.ErrnoException).code}): check the path and permissions`,
    );
  }
}

function _stat(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

function _isDirectory(dir: string): boolean {
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory();
}

/** A non-empty file without our schema is someone else's database: never write tables (or a WAL header) into it. */
function _expectFleet(db: Db, file: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
  if (version === 0 && tables.n > 0) throw new SolkeyError(`${file} is an SQLite file but not a fleet database`);
}

function _migrate(db: Db, file: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION)
    throw new SolkeyError(`${file} has schema version ${version}, newer than this solkey's ${SCHEMA_VERSION}: upgrade`);
  if (version === SCHEMA_VERSION) return;
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
