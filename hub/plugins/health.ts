// GET /healthz: 200 once the hub serves (its store is open and answers).
import type { FastifyInstance } from "fastify";
import type { FleetStore } from "../../fleet/store";

export function healthRoutes(store: FleetStore) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get(
      "/healthz",
      { schema: { response: { 200: { type: "object", properties: { status: { type: "string" } } } } } },
      async () => {
        await store.plans();
        return { status: "ok" };
      },
    );
  };
}
