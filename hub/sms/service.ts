// The SMS side of `solkey hub`: the outbox worker on its own connection to the fleet database (an SQLite file or a
// PostgreSQL URL), the configured gateway (Africa's Talking when SOLKEY_SMS_URL is set, the log driver otherwise)
// and the issuing hook that queues each code's SMS in the code's own transaction.
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { isPostgresUrl, openFleet } from "../../fleet/database";
import { pgPool, redacted } from "../../fleet/pgdb";
import { pgSql, sqliteSql } from "../../fleet/sql";
import type { CodeHook } from "../../fleet/storesteps";
import { smsConfig, smsGateway } from "./config";
import type { RetryPolicy, SmsOutbox } from "./outbox";
import { PgOutbox } from "./pg";
import { queueCodeSms } from "./queue";
import { smsRoutes } from "./routes";
import type { SmsReader } from "./reader";
import { SqliteOutbox } from "./sqlite";
import { SqlSmsReader } from "./sqlreader";
import { OutboxWorker, systemClock, type OutboxEvent } from "./worker";

/** The hook to give the fleet store (either engine). */
export interface CodeHooks {
  readonly onCode: CodeHook;
}

export interface SmsService {
  /** Pass to the store's open: queues a code's SMS before the code commits. */
  readonly hooks: CodeHooks;
  readonly outbox: SmsOutbox;
  /** The outbox as the operator API reads it (on the worker's connection or pool: reads only). */
  readonly reader: SmsReader;
  readonly worker: OutboxWorker;
  /** POST /sms/<token>/delivery and /inbound, when SOLKEY_SMS_TOKEN is set. */
  readonly routes: readonly ((app: FastifyInstance) => Promise<void>)[];
  /** Starts sending (`worker.start()`). */
  start(): void;
  /** Stops the worker (a send under way finishes or its lease lapses) and closes the connection. */
  stop(): Promise<void>;
}

export interface SmsServiceOptions {
  /** The fleet: an SQLite file or a postgres:// URL. */
  readonly db: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onEvent: (event: OutboxEvent) => void;
  /** Where the log driver prints (default stdout). */
  readonly print?: (line: string) => void;
  readonly pollMs?: number;
  readonly policy?: RetryPolicy;
}

/** Connections of the worker's pool on PostgreSQL: one claim and a batch of results at a time. */
const PG_POOL = 4;

export function startSms(o: SmsServiceOptions): SmsService {
  const driver = o.env.SOLKEY_SMS_DRIVER ?? (o.env.SOLKEY_SMS_URL === undefined ? "log" : "africastalking");
  const gateway = smsGateway(smsConfig({ ...o.env, SOLKEY_SMS_DRIVER: driver }), o.print);
  const wake = () => worker.wake();
  // The row is visible to the worker's connection once the issuing transaction commits, after this turn.
  const queued = () => setImmediate(wake);
  let outbox: SmsOutbox;
  let reader: SmsReader;
  let close: () => Promise<void>;
  if (isPostgresUrl(o.db)) {
    const pool = pgPool(o.db, PG_POOL);
    outbox = new PgOutbox(pool, redacted(o.db));
    reader = new SqlSmsReader(pgSql(pool, redacted(o.db)), redacted(o.db));
    close = () => pool.end();
  } else {
    const db = openFleet(o.db);
    outbox = new SqliteOutbox(db, o.db);
    reader = new SqlSmsReader(sqliteSql(db), o.db);
    close = async () => {
      db.close();
    };
  }
  // Not started here: the caller starts it once its log (onEvent's) exists.
  const worker = new OutboxWorker({ store: outbox, gateway, onEvent: o.onEvent, pollMs: o.pollMs, policy: o.policy });
  const token = o.env.SOLKEY_SMS_TOKEN;
  return {
    hooks: { onCode: queueCodeSms(systemClock.now, queued) },
    outbox,
    reader,
    worker,
    routes: token === undefined || token === "" ? [] : [smsRoutes({ token, outbox, wake, onEvent: o.onEvent })],
    start: () => worker.start(),
    async stop() {
      await worker.stop();
      await outbox.drain();
      await close();
    },
  };
}

/** An outbox event as a pino line (events hold no text, so no code); `failed` is the operator's alert. */
export function logOutboxEvent(log: Pick<FastifyBaseLogger, "info" | "warn" | "error">, event: OutboxEvent): void {
  const level =
    event.kind === "failed" || event.kind === "store-error" ? "error" : event.kind === "retry" ? "warn" : "info";
  log[level]({ sms: event }, `sms ${event.kind}`);
}
