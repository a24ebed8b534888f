// The hub's HTTP application: buildApp(options) returns the fastify app without listening (tests use inject() and
// real HTTP; `solkey hub` adds listen and signals). Routes come as plugins by resource; every body has a JSON
// schema; bad input is a 4xx naming the problem, never a 500; logs are pino lines with tokens and codes redacted.
import type { FastifyError, FastifyInstance } from "fastify";
import { createRequire } from "module";
import type { DestinationStream } from "pino";
import type { ApiKeys } from "../fleet/apikeys";
import { NotFoundError, RefusedError, SolkeyError, UsageError } from "../fleet/errors";
import type { FleetStore } from "../fleet/store";
import type { SmsReader } from "./sms/reader";
import type { BuiltPage } from "./static";
import { addressList } from "./addresses";
import { apiRoutes } from "./api/routes";
import type { HubConfig } from "./config";
import { c2bRoutes } from "./plugins/c2b";
import { healthRoutes } from "./plugins/health";
import { pageRoutes } from "./plugins/pages";
import { webhookRoutes } from "./plugins/webhook";

/** Largest body taken: a Daraja callback is about 500 bytes. */
export const BODY_LIMIT = 16 * 1024;

export interface AppOptions {
  readonly config: HubConfig;
  readonly store: FleetStore;
  /** Where log lines go (default stdout); false: no logs. */
  readonly log?: DestinationStream | false;
  /** The clock, in ms (the webhook's replay window). */
  readonly now?: () => number;
  /** More routes (the SMS callbacks, hub/sms/routes.ts), registered after the payment routes. */
  readonly routes?: readonly ((app: FastifyInstance) => Promise<void>)[];
  /** The operator API's keys and audit log; without them /api/v1 is not served. */
  readonly apiKeys?: ApiKeys;
  /** The SMS outbox as the operator API reads it (GET /api/v1/sms, /metrics); without it no SMS is listed. */
  readonly smsReader?: SmsReader;
  /** The device simulator page (web/server.ts simPage()), served at /sim/; without it /sim is not served. */
  readonly simPage?: BuiltPage;
  /** The operator console page (web/server.ts consolePage()), served at /console/ when the API is (apiKeys). */
  readonly consolePage?: BuiltPage;
}

/** Paths carry the C2B and SMS tokens: logged as /c2b/<redacted>/..., /sms/<redacted>/... */
export function redactUrl(url: string): string {
  return url.replace(/^\/(c2b|sms)\/[^/?]*/, "/$1/<redacted>");
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { config, store } = options;
  // Loaded here, not at import: fastify costs ~65 ms, and every `solkey` start but `hub`'s imports this module.
  const { fastify } = createRequire(__filename)("fastify") as typeof import("fastify");
  const app = fastify({
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    logger:
      options.log === false
        ? false
        : {
            level: config.logLevel,
            stream: options.log,
            redact: { paths: ["keycode", "*.keycode", "code", "*.code", "token", "headers"], censor: "<redacted>" },
            serializers: {
              req: (req: { method: string; url: string; ip?: string }) => ({
                method: req.method,
                url: redactUrl(req.url),
                ip: req.ip,
              }),
            },
          },
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) return reply.code(400).send({ error: error.message });
    // fastify's own 4xx first (a body too large is a RangeError with 413), then an adapter's RangeError naming a field.
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      return reply.code(error.statusCode).send({ error: error.message });
    if (error instanceof NotFoundError) return reply.code(404).send({ error: error.message });
    // A code the window has no room for (409) or the device cannot say (422), with a name programs can test.
    if (error instanceof RefusedError)
      return reply
        .code(error.refusal === "window_full" ? 409 : 422)
        .send({ error: error.message, refusal: error.refusal });
    if (error instanceof RangeError || error instanceof UsageError)
      return reply.code(400).send({ error: error.message });
    // The store could not commit (disk full, locked): nothing was stored; the provider may retry.
    request.log.error({ err: error }, "request failed");
    const message = error instanceof SolkeyError ? error.message : "the hub could not store this now; retry";
    return reply.code(503).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${redactUrl(request.url)}` }),
  );

  app.register(healthRoutes(store));
  app.register(c2bRoutes(config, store, addressList(config.mpesaAllow)));
  if (options.apiKeys !== undefined)
    app.register(apiRoutes(store, options.apiKeys, config.apiPerMinute, options.smsReader));
  const secret = config.webhookSecret;
  if (secret !== null)
    app.register(webhookRoutes({ ...config, webhookSecret: secret }, store, options.now ?? Date.now));
  if (options.simPage !== undefined) app.register(pageRoutes("sim", options.simPage));
  if (options.consolePage !== undefined && options.apiKeys !== undefined)
    app.register(pageRoutes("console", options.consolePage));
  for (const routes of options.routes ?? []) app.register(routes);
  return app;
}
