// The operator API under /api/v1 (docs/API.md): devices, accounts, plans, payments, codes and SMS to read; ad-hoc
// codes, desired state, orphan assignment and reversals to write, each with its reason and audited with the key that
// made it; the audit log, /metrics, and the OpenAPI document at /docs/json with a page at /docs.
import { createHash } from "crypto";
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from "fastify";
import { createRequire } from "module";
import { allows, paymentAudit, type ApiKeys, type Scope } from "../../fleet/apikeys";
import { family, single } from "../../fleet/metrics";
import { AD_HOC_ACTIONS, type AdHocAction, type OperatorRequest } from "../../fleet/operator";
import type { AuditNote, FleetStore, OperatorIssued, PaymentStatus } from "../../fleet/store";
import { OUTBOX_STATES, type SmsReader } from "../sms/reader";
import type { OutboxState } from "../sms/outbox";
import { keyOf, needs } from "./auth";
import { docsPage, DOCS_CSP } from "./docs";
import { codeView, deviceView, paymentView, smsView } from "./views";

const SERIAL = { type: "string", minLength: 1, maxLength: 64 } as const;
/**
 * Why an operator acted: required on every write, kept in the audit log. No NUL: PostgreSQL's text cannot hold one,
 * and a reason refused after the code was issued would leave the code unaudited.
 */
const REASON = { type: "string", minLength: 3, maxLength: 500, pattern: "^[^\\u0000]*$" } as const;
const WHOLE = { type: "string", pattern: "^[0-9]{1,9}$" } as const;
const SEARCH = { type: "string", minLength: 1, maxLength: 128 } as const;
const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  "coded",
  "deposit",
  "below_minimum",
  "remainder",
  "held",
  "unlock_pending",
  "orphan",
  "reversed",
];

/** Rows per page of a list, unless asked (at most MAX_LIMIT). */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

const serialParams = { type: "object", properties: { serial: SERIAL }, required: ["serial"] } as const;

/** A list's query string: `after` and `limit` plus its own filters; nothing else. */
function listQuery(filters: Record<string, object>) {
  return {
    type: "object",
    properties: { after: WHOLE, limit: WHOLE, ...filters },
    additionalProperties: false,
  } as const;
}

function pageArgs(query: { after?: string; limit?: string }): { after?: number; limit: number } {
  const limit = Number(query.limit ?? DEFAULT_LIMIT);
  if (limit < 1 || limit > MAX_LIMIT) throw new RangeError(`limit expected 1..${MAX_LIMIT}, got ${limit}`);
  return { after: query.after === undefined ? undefined : Number(query.after), limit };
}

interface AdHocBody {
  action: AdHocAction;
  note: string;
  days?: number;
  minutes?: number;
  sms?: boolean;
}

/** The operator request an ad-hoc body asks for; days only with goodwill, minutes only with maintenance. */
function adHocRequest(body: AdHocBody): OperatorRequest {
  const sms = body.sms ?? false;
  if (body.days !== undefined && body.action !== "goodwill")
    throw new RangeError(`days is for goodwill only; ${body.action} takes none`);
  if (body.minutes !== undefined && body.action !== "maintenance")
    throw new RangeError(`minutes is for maintenance only; ${body.action} takes none`);
  switch (body.action) {
    case "goodwill":
      if (body.days === undefined) throw new RangeError("goodwill expected days: a whole number 1..365");
      return { action: "goodwill", days: body.days, sms };
    case "maintenance":
      return { action: "maintenance", minutes: body.minutes ?? 60, sms };
    default:
      return { action: body.action, sms };
  }
}

/** Prometheus text of the outbox counts. */
function smsMetrics(counts: Awaited<ReturnType<SmsReader["counts"]>>): string {
  const rows = OUTBOX_STATES.map((state) => ({ label: state, n: counts.byState[state] }));
  return (
    family("solkey_sms", "SMS outbox messages, by state.", "state", rows) +
    single("solkey_sms_outbox_depth", "SMS messages waiting to go (queued, due or retrying).", counts.depth)
  );
}

/** `perMinute`: requests a minute per key (per address without one), so a runaway script cannot starve the callbacks. */
export function apiRoutes(store: FleetStore, keys: ApiKeys, perMinute: number, sms?: SmsReader) {
  return async (app: FastifyInstance): Promise<void> => {
    // Loaded with the routes, not at import (~11 ms of every `solkey` start).
    const load = createRequire(__filename);
    const { fastifySwagger: swagger } = load("@fastify/swagger") as typeof import("@fastify/swagger");
    const { fastifyRateLimit: rateLimit } = load("@fastify/rate-limit") as typeof import("@fastify/rate-limit");
    // The OpenAPI document of the routes below (this plugin's context only), served by GET /docs/json, and a page
    // listing them at /docs: the hub needs nothing from the network.
    await app.register(swagger, {
      openapi: {
        info: { title: "solkey operator API", version: "1" },
        components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
        security: [{ bearer: [] }],
      },
    });
    app.get("/docs/json", { schema: { hide: true } }, async () => app.swagger());
    app.get("/docs", { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("content-security-policy", DOCS_CSP)
        .header("x-content-type-options", "nosniff")
        .send(docsPage(app.swagger() as Parameters<typeof docsPage>[0])),
    );
    // Counted before the key check, per SHA-256 of the Authorization header: no key text is kept as a bucket name.
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => {
        const header = request.headers.authorization;
        return header === undefined ? `ip:${request.ip}` : createHash("sha256").update(header).digest("hex");
      },
    });
    const guards: Record<Scope, preHandlerHookHandler> = {
      read: needs(keys, "read"),
      issue: needs(keys, "issue"),
      admin: needs(keys, "admin"),
    };
    /** A route's key check (before its input is validated: no key, no schema hints) and its line in /docs. */
    const route = (scope: Scope, summary: string, schema: object = {}) => ({
      onRequest: guards[scope],
      schema: { summary, description: scope, ...schema },
    });
    /** Whether this request's key may see whole keycodes (issue and admin keys). */
    const full = (request: FastifyRequest) => allows(request.apiKey!.scope, "issue");

    // Prometheus scrapes with a read key (bearer_token in its scrape config).
    app.get(
      "/metrics",
      route("read", "Prometheus text: payments, codes, SMS by state, outbox depth, orphans"),
      async (_r, reply) => {
        const text = (await keys.metrics()) + (sms === undefined ? "" : smsMetrics(await sms.counts()));
        return reply.type("text/plain; version=0.0.4; charset=utf-8").send(text);
      },
    );

    app.get("/api/v1/plans", route("read", "the plans"), async () => ({ plans: await store.plans() }));

    app.get<{ Params: { serial: string } }>(
      "/api/v1/accounts/:serial",
      route("read", "an account: money, days, held days, paid until, unlock", { params: serialParams }),
      async (request) => ({ account: await store.account(request.params.serial) }),
    );

    app.get<{ Querystring: { q?: string; after?: string; limit?: string } }>(
      "/api/v1/devices",
      route("read", "devices, searched by serial, phone or payment reference", {
        querystring: listQuery({ q: SEARCH }),
      }),
      async (request) => {
        const page = await store.listDevices({ q: request.query.q, ...pageArgs(request.query) });
        return { devices: page.items.map((d) => deviceView(d, full(request))), next: page.next };
      },
    );

    app.get<{ Params: { serial: string } }>(
      "/api/v1/devices/:serial",
      route("read", "a device: account, credit, codes issued and known entered, window, last code", {
        params: serialParams,
      }),
      async (request) => ({ device: deviceView(await store.device(request.params.serial), full(request)) }),
    );

    app.get<{ Querystring: { status?: PaymentStatus; q?: string; after?: string; limit?: string } }>(
      "/api/v1/payments",
      route("read", "payments, newest first, by status and search", {
        querystring: listQuery({ status: { type: "string", enum: PAYMENT_STATUSES }, q: SEARCH }),
      }),
      async (request) => {
        const { status, q } = request.query;
        const page = await store.listPayments({ status, q, ...pageArgs(request.query) });
        return { payments: page.items.map((p) => paymentView(p, full(request))), next: page.next };
      },
    );

    app.get("/api/v1/payments/orphans", route("read", "payments matched to no account"), async (request) => ({
      payments: (await store.orphans()).map((p) => paymentView(p, full(request))),
    }));

    app.get<{ Querystring: { serial?: string; after?: string; limit?: string } }>(
      "/api/v1/codes",
      route("read", "codes issued, newest first; whole keycodes for issue keys only", {
        querystring: listQuery({ serial: SERIAL }),
      }),
      async (request) => {
        const page = await store.listCodes({ serial: request.query.serial, ...pageArgs(request.query) });
        return { codes: page.items.map((c) => codeView(c, full(request))), next: page.next };
      },
    );

    app.get<{ Querystring: { status?: OutboxState; serial?: string; after?: string; limit?: string } }>(
      "/api/v1/sms",
      route("read", "SMS outbox messages and their delivery state, newest first", {
        querystring: listQuery({ status: { type: "string", enum: OUTBOX_STATES }, serial: SERIAL }),
      }),
      async (request, reply) => {
        if (sms === undefined) return reply.code(404).send({ error: "this hub has no SMS outbox" });
        const { status, serial } = request.query;
        const page = await sms.list({ state: status, serial, ...pageArgs(request.query) });
        return { messages: page.items.map((m) => smsView(m, full(request))), next: page.next };
      },
    );

    /**
     * The audit entry of an operator's code, written by the store in the code's transaction: the code's sequence and
     * effect, never the keycode (anyone could type it).
     */
    const auditCode = (request: FastifyRequest, serial: string, r: OperatorRequest, reason: string): AuditNote => ({
      keyId: keyOf(request),
      action: `code.${r.action}`,
      reason,
      effect: (done) => ({
        serial: done.code.serial,
        asked: serial,
        kind: done.code.kind,
        seq: done.code.seq,
        seconds: done.code.seconds,
        days: "days" in r ? r.days : null,
        minutes: "minutes" in r ? r.minutes : null,
        chose: done.chose,
        sms: done.smsMessageId,
        paidUntil: done.effect?.paidUntil ?? null,
        heldDays: done.effect?.heldDays ?? null,
        unlock: done.effect?.unlock ?? null,
      }),
    });
    const issued = (done: OperatorIssued) => ({
      code: codeView(done.code, true),
      effect: done.effect,
      sms: done.smsMessageId === null ? null : { messageId: done.smsMessageId },
    });

    app.post<{ Params: { serial: string }; Body: AdHocBody }>(
      "/api/v1/devices/:serial/codes",
      route("issue", "an ad-hoc code with its reason: goodwill, maintenance, repossession_lock, unlock, wipe", {
        params: serialParams,
        body: {
          type: "object",
          properties: {
            action: { type: "string", enum: AD_HOC_ACTIONS },
            note: REASON,
            days: { type: "integer", minimum: 1, maximum: 365 },
            minutes: { type: "integer", minimum: 1, maximum: 99 },
            sms: { type: "boolean" },
          },
          required: ["action", "note"],
          additionalProperties: false,
        },
      }),
      async (request) => {
        const r = adHocRequest(request.body);
        const { serial } = request.params;
        const done = await store.operatorCode(serial, r, auditCode(request, serial, r, request.body.note));
        return { ...issued(done), action: r.action, auditId: done.auditId };
      },
    );

    app.post<{ Params: { serial: string }; Body: { days: number; reason: string; sms?: boolean } }>(
      "/api/v1/devices/:serial/desired",
      route("issue", "desired state: N days of credit from the next entry (a set code, or an add where set cannot)", {
        params: serialParams,
        body: {
          type: "object",
          properties: { days: { type: "integer", minimum: 0, maximum: 960 }, reason: REASON, sms: { type: "boolean" } },
          required: ["days", "reason"],
          additionalProperties: false,
        },
      }),
      async (request) => {
        const { days, reason } = request.body;
        const r: OperatorRequest = { action: "desired", days, sms: request.body.sms ?? false };
        const { serial } = request.params;
        const done = await store.operatorCode(serial, r, auditCode(request, serial, r, reason));
        return { ...issued(done), chose: done.chose, days, auditId: done.auditId };
      },
    );

    const paymentParams = {
      type: "object",
      properties: { provider: SERIAL, transId: SERIAL },
      required: ["provider", "transId"],
    } as const;
    /** The audit entry of an assignment or reversal, written by the store in its transaction. */
    const auditPayment = (request: FastifyRequest, action: string, reason: string) =>
      paymentAudit(keyOf(request), action, reason);

    app.post<{ Params: { provider: string; transId: string }; Body: { serial: string; reason: string } }>(
      "/api/v1/payments/:provider/:transId/assign",
      route("issue", "give an orphan payment its account (its code by the window rule)", {
        params: paymentParams,
        body: {
          type: "object",
          properties: { serial: SERIAL, reason: REASON },
          required: ["serial", "reason"],
          additionalProperties: false,
        },
      }),
      async (request) => {
        const { provider, transId } = request.params;
        const audit = auditPayment(request, "payment.assign", request.body.reason);
        const payment = await store.assign(provider, transId, request.body.serial, audit);
        return { payment: paymentView(payment, true) };
      },
    );

    // A reversal the provider reported out of band (its money is owed again); the reason is also the payment's note.
    app.post<{ Params: { provider: string; transId: string }; Body: { reason: string } }>(
      "/api/v1/payments/:provider/:transId/reverse",
      route("issue", "enter a reversal: the payment's money is owed again", {
        params: paymentParams,
        body: {
          type: "object",
          properties: { reason: REASON },
          required: ["reason"],
          additionalProperties: false,
        },
      }),
      async (request) => {
        const { provider, transId } = request.params;
        const audit = auditPayment(request, "payment.reverse", request.body.reason);
        const payment = await store.reverse(provider, transId, request.body.reason, audit);
        return { payment: paymentView(payment, true) };
      },
    );

    app.get<{ Querystring: { after?: string; limit?: string } }>(
      "/api/v1/audit",
      route("admin", "the audit log, oldest first", { querystring: listQuery({}) }),
      async (request) => {
        const limit = Number(request.query.limit ?? 100);
        if (limit < 1 || limit > 1000) throw new RangeError(`limit expected 1..1000, got ${limit}`);
        return { entries: await keys.auditLog(Number(request.query.after ?? 0), limit) };
      },
    );
  };
}
