// The operator API's store paths on PostgreSQL (a real throwaway server): the same SQL text as SQLite for search and
// paging, ad-hoc codes and desired state through the locked device rows and the window rule, refusals by name.
// Keys and the audit log live on PostgreSQL too.
import { openApiKeys } from "../fleet/apikeys";
import { buildApp } from "../hub/app";
import { c2b, enter, phoneOf, simOf, testConfig, TOKEN, verdicts } from "./hub.helpers";
import { pgFleet, pgRows, startPostgres, type PgServer } from "./pg.helpers";

let server: PgServer;
beforeAll(() => {
  server = startPostgres();
}, 60_000);
afterAll(() => server.stop());

describe("PostgreSQL: the operator API", () => {
  it("searches, pages, issues ad-hoc and desired-state codes the device applies, and refuses by name", async () => {
    const fleet = await pgFleet(server, { protocol: "nexus-full" }, 3);
    const keys = await openApiKeys(fleet.url);
    const app = buildApp({ config: testConfig(), store: fleet.store, log: false, apiKeys: keys });
    const [read, issue] = [(await keys.create("read", "r")).key, (await keys.create("issue", "i")).key];
    const get = (url: string, k = read) =>
      app.inject({ method: "GET", url, headers: { authorization: `Bearer ${k}` } });
    const post = (url: string, payload: object) =>
      app.inject({ method: "POST", url, headers: { authorization: `Bearer ${issue}` }, payload });
    const [d0, d1, d2] = fleet.devices;
    await app.inject({ method: "POST", url: `/c2b/${TOKEN}/confirmation`, payload: c2b("PGREF1", "100", d2.serial) });
    const serials = async (q: string) =>
      ((await get(`/api/v1/devices?q=${encodeURIComponent(q)}`)).json().devices as { serial: string }[]).map(
        (d) => d.serial,
      );
    expect(await serials(d1.serial.toLowerCase())).toEqual([d1.serial]);
    expect(await serials("+" + phoneOf(0))).toEqual([d0.serial]);
    expect(await serials("pgref1")).toEqual([d2.serial]);
    expect(await serials("%")).toEqual([]);
    const first = (await get("/api/v1/devices?limit=2")).json();
    expect(first.devices).toHaveLength(2);
    const second = (await get(`/api/v1/devices?limit=2&after=${first.next as string}`)).json();
    expect(second).toMatchObject({ devices: [{ serial: d2.serial, credit: { owedDays: 2 } }], next: null });
    expect((await get("/api/v1/payments?q=PGREF1")).json().payments).toMatchObject([{ code: { keycode: null } }]);

    const url = `/api/v1/devices/${d0.serial}/codes`;
    const goodwill = await post(url, { action: "goodwill", days: 2, note: "outage" });
    expect(goodwill.statusCode).toBe(200);
    const sim = simOf(d0);
    enter(sim, d0, goodwill.json().code.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    expect((await post(url, { action: "goodwill", days: 1, note: "by SMS", sms: true })).json()).toMatchObject({
      refusal: "no_sms",
    });
    for (let i = 0; i < 38; i++)
      expect((await post(url, { action: "goodwill", days: 1, note: `day ${i}` })).statusCode).toBe(200);
    const full = await post(url, { action: "goodwill", days: 1, note: "one too many" });
    expect([full.statusCode, full.json().refusal]).toEqual([409, "window_full"]);
    const desired = await post(`/api/v1/devices/${d0.serial}/desired`, { days: 9, reason: "one code for all" });
    expect(desired.json()).toMatchObject({ chose: "set", code: { seq: 63, seconds: 9 * 86400 } });
    enter(sim, d0, desired.json().code.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied", "applied"]);
    const codes = (await get(`/api/v1/codes?serial=${d0.serial}&limit=500`, issue)).json().codes;
    expect(codes).toHaveLength(40);
    expect(
      await pgRows(fleet.url, "SELECT count(*)::int AS n FROM codes WHERE device_id = $1", [d0.record.deviceId]),
    ).toEqual([{ n: 40 }]);
    expect((await get(`/api/v1/accounts/${d0.serial}`)).json().account.heldDays).toBe(0);
    expect((await get("/api/v1/devices/NOPE")).statusCode).toBe(404);
    await app.close();
    await fleet.store.close();
    await keys.close();
  });
});
