// M-Pesa Daraja C2B callbacks: POST /c2b/<token>/validation and /c2b/<token>/confirmation (the path avoids the
// words Daraja refuses in callback URLs: "mpesa", "safaricom", "query", "exec"). Daraja neither signs nor retries
// these calls, so the defences are the secret token (a wrong one is a logged 404, as if nothing were here), the
// source-address allow-list, the short-code allow-list and the amount and account checks. Confirmation answers
// "Accepted" only after the payment (and its code) is on disk.
import { createHash, timingSafeEqual } from "crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FleetStore } from "../../fleet/store";
import type { AddressList } from "../addresses";
import type { HubConfig } from "../config";
import { CONFIRMED, daraja, REJECT_SHORTCODE, validationAnswer, type DarajaC2B } from "../providers/daraja";

const ANSWER = {
  type: "object",
  properties: { ResultCode: { anyOf: [{ type: "string" }, { type: "integer" }] }, ResultDesc: { type: "string" } },
};

type C2BRequest = FastifyRequest<{ Params: { token: string }; Body: DarajaC2B }>;

export function c2bRoutes(config: HubConfig, store: FleetStore, sources: AddressList) {
  const digest = (t: string) => createHash("sha256").update(t).digest();
  const expected = digest(config.mpesaToken);
  const served = new Set(config.shortCodes);

  /** Token, then source address: both checked before the body is even read. */
  async function guard(request: C2BRequest, reply: FastifyReply): Promise<void> {
    if (!timingSafeEqual(digest(request.params.token), expected)) {
      request.log.warn({ ip: request.ip }, "c2b: wrong path token");
      return reply.code(404).send({ error: "not found" });
    }
    if (!sources.allows(request.ip)) {
      request.log.warn({ ip: request.ip }, "c2b: caller not in SOLKEY_MPESA_ALLOW");
      return reply.code(403).send({ error: `address ${request.ip} may not post payments` });
    }
  }

  return async (app: FastifyInstance): Promise<void> => {
    const schema = {
      params: { type: "object", properties: { token: { type: "string", maxLength: 128 } } },
      body: daraja.bodySchema,
      response: { 200: ANSWER, 422: ANSWER },
    };

    app.post("/c2b/:token/validation", { schema, onRequest: guard }, async (request: C2BRequest, reply) => {
      const payment = daraja.toPayment(request.body, "callback");
      if (!served.has(payment.shortCode ?? "")) {
        request.log.warn({ shortCode: payment.shortCode }, "c2b validation: short code not served");
        return reply.send(REJECT_SHORTCODE);
      }
      const verdict = await store.check(payment);
      request.log.info({ transId: payment.transId, ok: verdict.ok }, "c2b validation");
      return reply.send(validationAnswer(verdict));
    });

    app.post("/c2b/:token/confirmation", { schema, onRequest: guard }, async (request: C2BRequest, reply) => {
      const payment = daraja.toPayment(request.body, "callback");
      if (!served.has(payment.shortCode ?? "")) {
        request.log.warn({ shortCode: payment.shortCode, transId: payment.transId }, "c2b: short code not served");
        return reply.code(422).send({ ...REJECT_SHORTCODE, ResultDesc: `Rejected: short code not served` });
      }
      const outcome = await store.receive(payment);
      request.log.info(
        { transId: outcome.transId, status: outcome.status, serial: outcome.serial, replayed: outcome.replayed },
        "c2b confirmation stored",
      );
      return reply.send(CONFIRMED);
    });
  };
}
