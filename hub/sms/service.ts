// The SMS side of `solkey hub`: the outbox worker on its own connection to the fleet database, the configured
// gateway (Africa's Talking when SOLKEY_SMS_URL is set, the log driver otherwise) and the issuing hook that queues
// each code's SMS in the code's own transaction.
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { openFleet } from "../../fleet/database";
import type { SqliteStoreOptions } from "../../fleet/sqlitestore";
import { smsConfig, smsGateway } from "./config";
import type { RetryPolicy } from "./outbox";
import { smsRoutes } from "./routes";
import type { SmsReader } from "./reader";
import { queueCodeSms, SqliteOutbox } from "./sqlite";
import { SqliteSmsReader } from "./sqlitereader";
import { OutboxWorker, systemClock, type OutboxEvent } from "./worker";

export interface SmsService {
  /** Pass to SqliteStore.open: queues a code's SMS before the code commits. */
  readonly onCode: NonNullable<SqliteStoreOptions["onCode"]>;
  readonly outbox: SqliteOutbox;
  /** The outbox as the operator API reads it (on the worker's connection: reads only). */
  readonly reader: SmsReader;
  readonly worker: OutboxWorker;
  /** POST /sms/<token>/delivery and /inbound, when SOLKEY_SMS_TOKEN is set. */
  readonly routes: readonly ((app: FastifyInstance) => Promise<void>)[];
  /** Stops the worker (a send under way finishes or its lease lapses) and closes the connection. */
  stop(): Promise<void>;
}

export interface SmsServiceOptions {
  readonly file: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onEvent: (event: OutboxEvent) => void;
  /** Where the log driver prints (default stdout). */
  readonly print?: (line: string) => void;
  readonly pollMs?: number;
  readonly policy?: RetryPolicy;
}

export function startSms(o: SmsServiceOptions): SmsService {
  const driver = o.env.SOLKEY_SMS_DRIVER ?? (o.env.SOLKEY_SMS_URL === undefined ? "log" : "africastalking");
  const gateway = smsGateway(smsConfig({ ...o.env, SOLKEY_SMS_DRIVER: driver }), o.print);
  const db = openFleet(o.file);
  const outbox = new SqliteOutbox(db, o.file);
  const worker = new OutboxWorker({
    store: outbox,
    gateway,
    onEvent: o.onEvent,
    pollMs: o.pollMs,
    policy: o.policy,
  });
  // The row is visible to the worker's connection once the issuing transaction commits, after this turn.
  const onCode = queueCodeSms(o.file, systemClock.now, () => setImmediate(() => worker.wake()));
  worker.start();
  const token = o.env.SOLKEY_SMS_TOKEN;
  const wake = () => worker.wake();
  return {
    onCode,
    outbox,
    reader: new SqliteSmsReader(db, o.file),
    worker,
    routes: token === undefined || token === "" ? [] : [smsRoutes({ token, outbox, wake, onEvent: o.onEvent })],
    async stop() {
      await worker.stop();
      await outbox.drain();
      db.close();
    },
  };
}

/** An outbox event as a pino line (events hold no text, so no code); `failed` is the operator's alert. */
export function logOutboxEvent(log: Pick<FastifyBaseLogger, "info" | "warn" | "error">, event: OutboxEvent): void {
  const level =
    event.kind === "failed" || event.kind === "store-error" ? "error" : event.kind === "retry" ? "warn" : "info";
  log[level]({ sms: event }, `sms ${event.kind}`);
}
