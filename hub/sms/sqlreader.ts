// The SMS outbox's reader (hub/sms/reader.ts) on either engine's fleet (one query text, fleet/sql.ts), for the
// operator API and /metrics.
import { NotFoundError } from "../../fleet/errors";
import type { Sql } from "../../fleet/sql";
import type { Page } from "../../fleet/store";
import { deviceBySerialSql, pageOf } from "../../fleet/storequeries";
import type { OutboxState } from "./outbox";
import { OUTBOX_STATES, type SmsCounts, type SmsQuery, type SmsReader, type SmsView } from "./reader";

interface SmsRow {
  message_id: number;
  serial: string | null;
  code_seq: number | null;
  purpose: SmsView["purpose"];
  to_phone: string;
  language: SmsView["language"];
  state: OutboxState;
  attempts: number;
  round: number;
  created_at: number;
  updated_at: number;
  due_at: number;
  last_error: string | null;
  provider_id: string | null;
  text: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class SqlSmsReader implements SmsReader {
  constructor(
    private readonly sql: Sql,
    private readonly where: string,
  ) {}

  async list(query: SmsQuery): Promise<Page<SmsView>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.serial !== undefined) {
      const lookup = deviceBySerialSql(query.serial);
      const [device] = await this.sql.rows<{ device_id: number }>(lookup.text, lookup.args);
      if (device === undefined) throw new NotFoundError(`no device ${query.serial} in ${this.where}`);
      // Its codes' messages, and the answers (RESEND, BALANCE: no code) to its account's phone.
      where.push(`(c.device_id = ? OR (o.code_id IS NULL
        AND o.to_phone = (SELECT '+' || a.phone FROM accounts a WHERE a.device_id = ?)))`);
      args.push(device.device_id, device.device_id);
    }
    if (query.state !== undefined) {
      where.push("o.state = ?");
      args.push(query.state);
    }
    if (query.after !== undefined) {
      where.push("o.message_id < ?");
      args.push(query.after);
    }
    const found = await this.sql.rows<SmsRow>(
      `SELECT o.*, d.serial, c.seq AS code_seq FROM sms_outbox o LEFT JOIN codes c ON c.code_id = o.code_id
       LEFT JOIN devices d ON d.device_id = c.device_id ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY o.message_id DESC LIMIT ?`,
      [...args, query.limit + 1],
    );
    const { rows, next } = pageOf(found, query.limit, (r) => r.message_id);
    return { items: rows.map(_view), next };
  }

  async counts(): Promise<SmsCounts> {
    const rows = await this.sql.rows<{ state: OutboxState; n: number }>(
      "SELECT state, count(*) AS n FROM sms_outbox GROUP BY state",
    );
    const byState = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
    for (const r of rows) byState[r.state] = r.n;
    return { byState, depth: byState.queued };
  }
}

function _view(r: SmsRow): SmsView {
  return {
    messageId: r.message_id,
    serial: r.serial,
    codeSeq: r.code_seq,
    purpose: r.purpose,
    to: r.to_phone,
    language: r.language,
    state: r.state,
    attempts: r.attempts,
    round: r.round,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    dueAt: iso(r.due_at),
    lastError: r.last_error,
    providerId: r.provider_id,
    text: r.text,
  };
}
