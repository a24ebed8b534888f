// POST /webhook/<provider>: signed JSON payments from any other rail (hub/providers/webhook.ts has the format);
// "mpesa" is refused as a name: its transaction ids belong to the Daraja callbacks.
// The signature covers the exact bytes received, so this plugin parses JSON itself and keeps the raw body.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { FleetStore } from "../../fleet/store";
import type { HubConfig } from "../config";
import {
  checkSignature,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  WEBHOOK_BODY,
  webhookSource,
  type WebhookPayment,
} from "../providers/webhook";

const RAW = Symbol("raw body");
type Raw = { [RAW]?: string };

const ANSWER = {
  type: "object",
  properties: {
    status: { type: "string" },
    transactionId: { type: "string" },
    serial: { type: ["string", "null"] },
    replayed: { type: "boolean" },
  },
};

export function webhookRoutes(config: HubConfig & { webhookSecret: string }, store: FleetStore, now: () => number) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
      (request as Raw)[RAW] = body as string;
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(Object.assign(new Error("body is not JSON"), { statusCode: 400 }), undefined);
      }
    });

    app.post(
      "/webhook/:provider",
      {
        schema: {
          params: {
            type: "object",
            properties: { provider: { type: "string", pattern: "^(?!mpesa$)[a-z][a-z0-9-]{1,31}$" } },
          },
          body: WEBHOOK_BODY,
          response: { 200: ANSWER },
        },
        preValidation: async (request, reply) => {
          const refused = checkSignature(
            config.webhookSecret,
            request.headers[TIMESTAMP_HEADER] as string | undefined,
            request.headers[SIGNATURE_HEADER] as string | undefined,
            (request as Raw)[RAW] ?? "",
            Math.floor(now() / 1000),
          );
          if (refused !== null) {
            request.log.warn({ ip: request.ip, reason: refused }, "webhook: signature refused");
            return reply.code(401).send({ error: refused });
          }
        },
      },
      async (request: FastifyRequest<{ Params: { provider: string }; Body: WebhookPayment }>) => {
        const source = webhookSource(request.params.provider);
        const outcome = await store.receive(source.toPayment(request.body, "callback"));
        request.log.info(
          { provider: outcome.provider, transId: outcome.transId, status: outcome.status, replayed: outcome.replayed },
          "webhook payment stored",
        );
        return {
          status: outcome.status,
          transactionId: outcome.transId,
          serial: outcome.serial,
          replayed: outcome.replayed,
        };
      },
    );
  };
}
