// The SQL of the SMS outbox for the fleet database, fleet migration 5 (fleet/database.ts MIGRATIONS): the outbox
// rows the hub's worker claims (OutboxStore in hub/sms/outbox.ts) and every send and report in order.
//
// A row is inserted in the transaction that issues the code (or answers RESEND / BALANCE), with the rendered text:
// never rendered again, so every send of it is the same SMS. Times are integer milliseconds since the epoch, as the
// worker passes them. `to_phone` is the account's registered phone, never a number taken from a payment callback.
export const SMS_MIGRATION = `
  CREATE TABLE sms_outbox (
    message_id INTEGER PRIMARY KEY,
    code_id INTEGER REFERENCES codes (code_id),
    purpose TEXT NOT NULL CHECK (purpose IN ('code', 'unlock', 'resend', 'balance')),
    to_phone TEXT NOT NULL CHECK (to_phone GLOB '+[1-9][0-9]*' AND length(to_phone) BETWEEN 8 AND 16),
    language TEXT NOT NULL CHECK (language IN ('en', 'sw', 'fr')),
    text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 1600),
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    round INTEGER NOT NULL DEFAULT 0 CHECK (round >= 0),
    created_at INTEGER NOT NULL,
    round_started_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    gateway TEXT,
    provider_id TEXT,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    CHECK (state <> 'sent' OR provider_id IS NOT NULL)
  ) STRICT;
  -- claimDue (WHERE state = 'queued' AND due_at <= :now AND coalesce(lease_until, 0) <= :now ORDER BY due_at) and
  -- the operator's lists (failed, awaiting a report) by state.
  CREATE INDEX sms_outbox_by_state ON sms_outbox (state, due_at);
  -- An account's latest code SMS for RESEND.
  CREATE INDEX sms_outbox_by_phone ON sms_outbox (to_phone, message_id);
  CREATE TABLE sms_events (
    event_id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES sms_outbox (message_id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('sent', 'retry', 'failed', 'report', 'redeliver')),
    provider_id TEXT,
    status TEXT,
    detail TEXT
  ) STRICT;
  -- recordDelivery finds the message by any of its sends' provider ids (a late report names an earlier send).
  CREATE UNIQUE INDEX sms_events_sent ON sms_events (provider_id) WHERE kind = 'sent';
  CREATE INDEX sms_events_by_message ON sms_events (message_id, event_id);
  CREATE TABLE sms_inbound (
    inbound_id TEXT PRIMARY KEY,
    from_phone TEXT NOT NULL,
    to_code TEXT NOT NULL,
    text TEXT NOT NULL,
    command TEXT CHECK (command IN ('resend', 'balance')),
    answered INTEGER NOT NULL CHECK (answered IN (0, 1)),
    received_at INTEGER NOT NULL
  ) STRICT;
  -- RESEND's rate limit: this phone's answered RESENDs in the last window (inbound.ts RESEND_LIMIT).
  CREATE INDEX sms_inbound_by_phone ON sms_inbound (from_phone, received_at);
`;
