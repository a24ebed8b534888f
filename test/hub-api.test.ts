// The operator API over HTTP: keys and scopes (missing/revoked 401, too small 403), reading plans, accounts and
// orphans, assigning an orphan with a required reason, the audit log it leaves (append-only even to SQL), bad input 4xx;
// on SQLite and on PostgreSQL.
import { openApiKeys, SCOPES, allows } from "../fleet/apikeys";
import { buildApp } from "../hub/app";
import { solkey } from "./fleet.helpers";
import { engineFleets, ENGINES, type Engine } from "./engines.helpers";
import { c2b, testConfig, TOKEN } from "./hub.helpers";

const fleetOn = engineFleets();

async function setup(engine: Engine, apiPerMinute?: number) {
  const fleet = await fleetOn(engine, { protocol: "nexus-full" }, 2);
  const keys = await openApiKeys(fleet.db);
  const app = buildApp({
    config: testConfig(apiPerMinute === undefined ? {} : { SOLKEY_API_PER_MINUTE: String(apiPerMinute) }),
    store: fleet.store,
    log: false,
    apiKeys: keys,
  });
  const key = async (scope: "read" | "issue" | "admin") => (await keys.create(scope, `${scope} test`)).key;
  const get = (url: string, k?: string) =>
    app.inject({ method: "GET", url, headers: k === undefined ? {} : { authorization: `Bearer ${k}` } });
  const post = (url: string, k: string, payload: object) =>
    app.inject({ method: "POST", url, headers: { authorization: `Bearer ${k}` }, payload });
  const close = async () => {
    await app.close();
    await fleet.store.close();
    await keys.close();
  };
  return { fleet, keys, app, key, get, post, close };
}

describe.each(ENGINES)("operator API on %s: keys and scopes", (engine) => {
  it("orders scopes read < issue < admin", () => {
    for (const has of SCOPES)
      for (const needs of SCOPES) expect(allows(has, needs)).toBe(SCOPES.indexOf(has) >= SCOPES.indexOf(needs));
  });

  it("refuses a missing, malformed, unknown or revoked key with 401 and a too-small scope with 403", async () => {
    const t = await setup(engine);
    expect((await t.get("/api/v1/plans")).statusCode).toBe(401);
    expect((await t.get("/api/v1/plans", "nope")).statusCode).toBe(401);
    expect((await t.get("/api/v1/plans", "sk_" + "0".repeat(64))).statusCode).toBe(401);
    const read = await t.key("read");
    const ok = await t.get("/api/v1/plans", read);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().plans.map((p: { name: string }) => p.name)).toEqual(["daily"]);
    const audit = await t.get("/api/v1/audit", read);
    expect(audit.statusCode).toBe(403);
    expect(audit.json().error).toMatch(/scope admin/);
    const assign = await t.post("/api/v1/payments/mpesa/X1/assign", read, { serial: "x", reason: "wrong ref" });
    expect(assign.statusCode).toBe(403);
    const id = (await t.keys.list()).find((k) => k.scope === "read")!.keyId;
    await t.keys.revoke(id);
    expect((await t.get("/api/v1/plans", read)).statusCode).toBe(401);
    await t.close();
  });

  it("limits the requests of each key, not of the others", async () => {
    const t = await setup(engine, 5);
    const [a, b] = [await t.key("read"), await t.key("read")];
    const codes = [];
    for (let i = 0; i < 7; i++) codes.push((await t.get("/api/v1/plans", a)).statusCode);
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429]);
    // The limit is a setting of the hub (SOLKEY_API_PER_MINUTE); a value that is no count is refused at start.
    for (const bad of ["0", "-5", "ten", "1e3", ""])
      expect(() => testConfig({ SOLKEY_API_PER_MINUTE: bad })).toThrow(/^SOLKEY_API_PER_MINUTE expected .*, got /);
    expect((await t.get("/api/v1/plans", b)).statusCode).toBe(200);
    await t.close();
  });

  it("stores only a hash of the key, and `solkey apikey` creates, lists and revokes", async () => {
    const t = await setup(engine);
    await t.close();
    const made = await solkey(["apikey", "create", "--scope", "issue", "--name", "ops", "--db", t.fleet.db, "--json"]);
    expect(made.code).toBe(0);
    const { key, keyId } = JSON.parse(made.stdout) as { key: string; keyId: number };
    expect(key).toMatch(/^sk_[0-9a-f]{64}$/);
    const dump = JSON.stringify(await t.fleet.rows("SELECT * FROM api_keys"));
    expect(dump).not.toContain(key.slice(3));
    expect((await solkey(["apikey", "list", "--db", t.fleet.db])).stdout).toMatch(
      new RegExp(`^${keyId}\\tissue\\tops`, "m"),
    );
    expect((await solkey(["apikey", "revoke", String(keyId), "--db", t.fleet.db])).code).toBe(0);
    const again = await solkey(["apikey", "revoke", String(keyId), "--db", t.fleet.db]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/was revoked/);
    const bad = await solkey(["apikey", "create", "--scope", "root", "--db", t.fleet.db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--scope expected read, issue or admin/);
  });
});

describe.each(ENGINES)("operator API on %s: resources, writes and the audit log", (engine) => {
  it("assigns an orphan only with a reason, and audits it with the key and the effect", async () => {
    const t = await setup(engine);
    const confirmed = await t.app.inject({
      method: "POST",
      url: `/c2b/${TOKEN}/confirmation`,
      payload: c2b("QAB1", "100.00", "no-such-ref"),
    });
    expect(confirmed.statusCode).toBe(200);
    const read = await t.key("read");
    const orphans = (await t.get("/api/v1/payments/orphans", read)).json().payments;
    expect(orphans.map((p: { transId: string }) => p.transId)).toEqual(["QAB1"]);
    const issue = await t.key("issue");
    const serial = t.fleet.devices[0].serial;
    const url = "/api/v1/payments/mpesa/QAB1/assign";
    const noReason = await t.post(url, issue, { serial });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error).toMatch(/reason/);
    const done = await t.post(url, issue, { serial, reason: "customer typed the phone number as reference" });
    expect(done.statusCode).toBe(200);
    expect(done.json().payment.serial).toBe(serial);
    const account = (await t.get(`/api/v1/accounts/${serial}`, read)).json().account;
    expect(account.paid).toBe(10000);
    const admin = await t.key("admin");
    const entries = (await t.get("/api/v1/audit", admin)).json().entries as Array<Record<string, unknown>>;
    const assign = entries.find((e) => e.action === "payment.assign")!;
    expect(assign.reason).toBe("customer typed the phone number as reference");
    expect(assign.keyId).toBe((await t.keys.list()).find((k) => k.scope === "issue")!.keyId);
    expect(JSON.parse(assign.effect as string)).toMatchObject({ serial, transId: "QAB1", status: "coded" });
    expect(entries.filter((e) => e.action === "apikey.create")).toHaveLength(3);
    const reverse = "/api/v1/payments/mpesa/QAB1/reverse";
    expect((await t.post(reverse, issue, {})).statusCode).toBe(400);
    expect((await t.post(reverse, read, { reason: "chargeback" })).statusCode).toBe(403);
    const reversed = await t.post(reverse, issue, { reason: "M-Pesa reversal R123" });
    expect(reversed.statusCode).toBe(200);
    expect(reversed.json().payment.status).toBe("reversed");
    expect((await t.get(`/api/v1/accounts/${serial}`, read)).json().account.paid).toBe(0);
    const last = (await t.get(`/api/v1/audit?after=${assign.auditId as number}`, admin)).json().entries;
    expect(last.map((e: { action: string }) => e.action)).toEqual(["apikey.create", "payment.reverse"]);
    expect(last[1]).toMatchObject({ reason: "M-Pesa reversal R123" });
    await t.close();
  });

  it("serves /metrics in Prometheus text that moves with the work", async () => {
    const t = await setup(engine);
    const read = await t.key("read");
    const metric = async (line: string) => {
      const r = await t.get("/metrics", read);
      expect(r.headers["content-type"]).toMatch(/^text\/plain; version=0.0.4/);
      const m = new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m").exec(r.body);
      return m === null ? 0 : Number(m[1]);
    };
    expect((await t.get("/metrics")).statusCode).toBe(401);
    const before = {
      orphans: await metric("solkey_orphan_payments"),
      coded: await metric('solkey_payments{status="coded"}'),
    };
    const pay = (id: string, ref: string) =>
      t.app.inject({ method: "POST", url: `/c2b/${TOKEN}/confirmation`, payload: c2b(id, "100.00", ref) });
    await pay("QM1", "nobody");
    await pay("QM2", t.fleet.devices[1].serial);
    expect(await metric("solkey_orphan_payments")).toBe(before.orphans + 1);
    expect(await metric('solkey_payments{status="orphan"}')).toBe(1);
    expect(await metric('solkey_payments{status="coded"}')).toBe(before.coded + 1);
    expect(await metric("solkey_audit_entries")).toBe(1);
    await t.close();
  });

  it("serves its OpenAPI document at /docs/json without a key", async () => {
    const t = await setup(engine);
    const doc = (await t.get("/docs/json")).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/v1/plans", "/api/v1/payments/{provider}/{transId}/reverse", "/api/v1/audit"]),
    );
    expect(doc.paths["/api/v1/payments/{provider}/{transId}/assign"].post.requestBody).toBeDefined();
    await t.close();
  });

  it("keeps the audit log append-only, even to SQL", async () => {
    const t = await setup(engine);
    await t.key("admin");
    await t.close();
    // The key's creation is the one entry (a trigger fires per row: on an empty log the UPDATE would pass unrefused).
    expect(await t.fleet.rows("SELECT count(*) AS n FROM audit")).toEqual([{ n: 1 }]);
    // Matched by message, not toThrow: in a jest run of many files, better-sqlite3's native side may throw the
    // SqliteError class an earlier file's realm registered, which is no `instanceof Error` here.
    const appendOnly = { message: expect.stringMatching(/append-only/) };
    await expect(t.fleet.rows("UPDATE audit SET reason = 'edited'")).rejects.toMatchObject(appendOnly);
    await expect(t.fleet.rows("DELETE FROM audit")).rejects.toMatchObject(appendOnly);
    expect(await t.fleet.rows("SELECT count(*) AS n FROM audit")).toEqual([{ n: 1 }]);
  });

  it("answers bad input with a 4xx and a reason, never a 500", async () => {
    const t = await setup(engine);
    const read = await t.key("read");
    const admin = await t.key("admin");
    const issue = await t.key("issue");
    const cases = [
      await t.get("/api/v1/accounts/NOPE-0000", read),
      await t.get("/api/v1/audit?limit=0", admin),
      await t.get("/api/v1/audit?limit=abc", admin),
      await t.get("/api/v1/audit?extra=1", admin),
      await t.post("/api/v1/payments/mpesa/NONE/assign", issue, { serial: "x", reason: "no such payment" }),
      await t.post("/api/v1/payments/mpesa/NONE/assign", issue, { serial: 5, reason: "typed" }),
    ];
    for (const r of cases) {
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
      expect(typeof r.json().error).toBe("string");
    }
    await t.close();
  });
});
