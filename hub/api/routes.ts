// The operator API under /api/v1: plans, accounts, orphan payments, assigning an orphan (with a reason, audited)
// and the audit log. Every write names its reason and is appended to the audit log with the key that made it.
import rateLimit from "@fastify/rate-limit";
import { createHash } from "crypto";
import type { FastifyInstance } from "fastify";
import type { ApiKeys } from "../../fleet/apikeys";
import type { FleetStore } from "../../fleet/store";
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
      reply.type("text/plain; version=0.0.4; charset=utf-8").send(keys.metrics()),
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

    app.post<{ Params: { provider: string; transId: string }; Body: { serial: string; reason: string } }>(
      "/api/v1/payments/:provider/:transId/assign",
      {
        preHandler: issue,
        schema: {
          params: {
            type: "object",
            properties: { provider: SERIAL, transId: SERIAL },
            required: ["provider", "transId"],
          },
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
        const { serial, reason } = request.body;
        const payment = await store.assign(provider, transId, serial);
        // The audit names the code's sequence, never the code itself (a code in a log could be typed by anyone).
        keys.audit(keyOf(request), "payment.assign", reason, {
          provider,
          transId,
          serial,
          status: payment.status,
          codeSeq: payment.code?.seq ?? null,
        });
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
        return { entries: keys.auditLog(Number(request.query.after ?? 0), limit) };
      },
    );
  };
}
