// The operator API's key check: `Authorization: Bearer <key>`; no, unknown or revoked key 401, too small a scope 403.
import type { FastifyReply, FastifyRequest } from "fastify";
import { allows, type ApiKey, type ApiKeys, type Scope } from "../../fleet/apikeys";

declare module "fastify" {
  interface FastifyRequest {
    /** The key that authenticated this request (set by `needs`). */
    apiKey?: ApiKey;
  }
}

/** A preHandler admitting keys of `scope` or above. */
export function needs(keys: ApiKeys, scope: Scope) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? "";
    const match = /^Bearer (\S+)$/.exec(header);
    const key = match === null ? undefined : await keys.authenticate(match[1]);
    if (key === undefined) {
      await reply
        .code(401)
        .header("www-authenticate", "Bearer")
        .send({ error: "expected Authorization: Bearer <key> with a live key from `solkey apikey create`" });
      return reply;
    }
    if (!allows(key.scope, scope)) {
      await reply.code(403).send({ error: `this needs a key of scope ${scope} or above; this key is ${key.scope}` });
      return reply;
    }
    request.apiKey = key;
  };
}

/** The authenticated key's id (routes run after `needs`). */
export function keyOf(request: FastifyRequest): number {
  if (request.apiKey === undefined) throw new Error("route without a key check");
  return request.apiKey.keyId;
}
