// The operator API under /api/v1: plans, accounts, orphan payments, assigning an orphan and entering a reversal
// (each with a reason, audited), the audit log and /metrics. Every write names its reason and is appended to the audit log with the key that made it.
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import { createHash } from "crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ApiKeys } from "../../fleet/apikeys";
import type { FleetStore, PaymentOutcome } from "../../fleet/store";
import { keyOf, needs } from "./auth";

const SERIAL = { type: "string", minLength: 1, maxLength: 64 } as const;
/** Why an operator acted: required on every write, kept in the audit log. */
const REASON = { type: "string", minLength: 3, maxLength: 500 } as const;
const WHOLE = { type: "string", pattern: "^[0-9]{1,9}$" } as const;

/** Requests a minute per key (per address without one): a runaway script cannot starve the payment callbacks. */
export const API_PER_MINUTE = 600;

export function apiRoutes(store: FleetStore, keys: ApiKeys, perMinute = API_PER_MINUTE) {
  return async (app: FastifyInstance): Promise<void> => {
    // Counted before the key check, per SHA-256 of the Authorization header: no key text is kept as a bucket name.
    // The OpenAPI document of the routes below (this plugin's context only), served by GET /docs/json; no UI, so the
    // hub needs nothing from the network.
    await app.register(swagger, {
      openapi: {
        info: { title: "solkey operator API", version: "1" },
        components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
        security: [{ bearer: [] }],
      },
    });
    app.get("/docs/json", { schema: { hide: true } }, async () => app.swagger());
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => {
        const header = request.headers.authorization;
        return header === undefined ? `ip:${request.ip}` : createHash("sha256").update(header).digest("hex");
      },
    });
    const read = needs(keys, "read");
    const issue = needs(keys, "issue");
    const admin = needs(keys, "admin");

    // Prometheus scrapes with a read key (bearer_token in its scrape config).
    app.get("/metrics", { preHandler: read }, async (_request, reply) =>
      reply.type("text/plain; version=0.0.4; charset=utf-8").send(await keys.metrics()),
    );

    app.get("/api/v1/plans", { preHandler: read }, async () => ({ plans: await store.plans() }));

    app.get<{ Params: { serial: string } }>(
      "/api/v1/accounts/:serial",
      {
        preHandler: read,
        schema: { params: { type: "object", properties: { serial: SERIAL }, required: ["serial"] } },
      },
      async (request) => ({ account: await store.account(request.params.serial) }),
    );

    app.get("/api/v1/payments/orphans", { preHandler: read }, async () => ({ payments: await store.orphans() }));

    const paymentParams = {
      type: "object",
      properties: { provider: SERIAL, transId: SERIAL },
      required: ["provider", "transId"],
    } as const;
    /** The audit names the code's sequence, never the code itself (a code in a log could be typed by anyone). */
    const audit = (request: FastifyRequest, action: string, reason: string, payment: PaymentOutcome) =>
      keys.audit(keyOf(request), action, reason, {
        provider: payment.provider,
        transId: payment.transId,
        serial: payment.serial,
        status: payment.status,
        codeSeq: payment.code?.seq ?? null,
      });

    app.post<{ Params: { provider: string; transId: string }; Body: { serial: string; reason: string } }>(
      "/api/v1/payments/:provider/:transId/assign",
      {
        preHandler: issue,
        schema: {
          params: paymentParams,
          body: {
            type: "object",
            properties: { serial: SERIAL, reason: REASON },
            required: ["serial", "reason"],
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const { provider, transId } = request.params;
        const payment = await store.assign(provider, transId, request.body.serial);
        await audit(request, "payment.assign", request.body.reason, payment);
        return { payment };
      },
    );

    // A reversal the provider reported out of band (its money is owed again); the reason is also the payment's note.
    app.post<{ Params: { provider: string; transId: string }; Body: { reason: string } }>(
      "/api/v1/payments/:provider/:transId/reverse",
      {
        preHandler: issue,
        schema: {
          params: paymentParams,
          body: {
            type: "object",
            properties: { reason: REASON },
            required: ["reason"],
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const { provider, transId } = request.params;
        const payment = await store.reverse(provider, transId, request.body.reason);
        await audit(request, "payment.reverse", request.body.reason, payment);
        return { payment };
      },
    );

    app.get<{ Querystring: { after?: string; limit?: string } }>(
      "/api/v1/audit",
      {
        preHandler: admin,
        schema: {
          querystring: {
            type: "object",
            properties: { after: WHOLE, limit: WHOLE },
            additionalProperties: false,
          },
        },
      },
      async (request) => {
        const limit = Number(request.query.limit ?? 100);
        if (limit < 1 || limit > 1000) throw new RangeError(`limit expected 1..1000, got ${limit}`);
        return { entries: await keys.auditLog(Number(request.query.after ?? 0), limit) };
      },
    );
  };
}
