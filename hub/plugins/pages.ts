// The web pages the hub serves beside its API (issue 19): the device simulator at /sim/ and the operator console at
// /console/, built once when the hub starts (web/server.ts) and answered with the same files and
// Content-Security-Policy as `solkey web`.
import type { FastifyInstance } from "fastify";
import { serveAsset, type BuiltPage } from "../static";

/** Mounts `page` at `/<name>/`; `/<name>` redirects there, since the page links its files relatively. */
export function pageRoutes(name: string, page: BuiltPage) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get(`/${name}`, async (_request, reply) => reply.redirect(`/${name}/`, 301));
    app.get(`/${name}/*`, async (request, reply) => {
      const pathname = "/" + (request.params as { "*": string })["*"];
      // Answered on the raw response by the web server's own code, so both servers send identical headers.
      reply.hijack();
      serveAsset(page, request.method, pathname, reply.raw);
    });
  };
}
