// POST /sms/<token>/delivery and /sms/<token>/inbound: Africa's Talking's form-encoded callbacks. A wrong token is
// a 404 (the path is the secret), bad input a 400 naming the field, a repeated or unknown one a plain 200 (AT would
// retry anything else). Answers to RESEND / BALANCE go through the outbox to the registered phone only.
import { timingSafeEqual } from "crypto";
import type { FastifyInstance } from "fastify";
import { parseDeliveryReport } from "./delivery";
import { parseInbound } from "./inbound";
import type { SmsOutbox } from "./outbox";
import { applyDeliveryReport, type OutboxEvent } from "./worker";

export interface SmsRouteOptions {
  readonly token: string;
  readonly outbox: SmsOutbox;
  /** An answer was queued: send it now. */
  readonly wake: () => void;
  readonly onEvent: (event: OutboxEvent) => void;
  readonly now?: () => number;
}

const FORM = "application/x-www-form-urlencoded";

export function smsRoutes(o: SmsRouteOptions) {
  const expected = Buffer.from(o.token);
  const now = o.now ?? Date.now;
  const tokenOk = (token: string) => {
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser(FORM, { parseAs: "string" }, (_request, body, done) => {
      done(null, new URLSearchParams(body as string));
    });
    /** A callback route: the token checked, the form parsed; `handle` answers an error to send as 400, or nothing. */
    const callback = (path: string, handle: (form: URLSearchParams) => Promise<string | undefined>) =>
      app.post<{ Params: { token: string } }>(`/sms/:token/${path}`, async (request, reply) => {
        if (!tokenOk(request.params.token)) return reply.code(404).send({ error: "no such route" });
        if (!(request.body instanceof URLSearchParams))
          return reply.code(415).send({ error: `send the callback as ${FORM}` });
        const error = await handle(request.body);
        if (error !== undefined) return reply.code(400).send({ error });
        return { status: "ok" };
      });
    callback("delivery", async (form) => {
      const report = parseDeliveryReport(form);
      if ("error" in report) return report.error;
      await applyDeliveryReport(o.outbox, report, { onEvent: o.onEvent });
    });
    callback("inbound", async (form) => {
      const sms = parseInbound(form);
      if ("error" in sms) return sms.error;
      const done = await o.outbox.answerInbound(sms, now());
      app.log.info({ inbound: done }, "sms inbound");
      if (done === "queued") o.wake();
    });
  };
}
