// The payment commands that take --db, on a postgres:// URL (issue 18), run as the operator runs it (tools/cli.ts
// main): plan, account, payments and apikey work on the server fleet (the URL also from $SOLKEY_DB). provision,
// issue, explain and recover run their whole suites on both engines (test/fleet, issue, explain, recover,
// exports.test.ts).
import fs from "fs";
import { solkey } from "./fleet.helpers";
import { paid, pgFleet, type PgFleet, pgRows, type PgServer, startPostgres } from "./pg.helpers";

let server: PgServer;
let fleet: PgFleet;
let env: Record<string, string>;
beforeAll(async () => {
  server = startPostgres();
  fleet = await pgFleet(server, { protocol: "nexus-full" }, 2);
  env = { SOLKEY_SECRET_KEY: fs.readFileSync(fleet.access.secretKeyFile!, "utf8").trim() };
}, 60_000);
afterAll(async () => {
  await fleet.store.close();
  server.stop();
});

describe("commands on PostgreSQL", () => {
  it("plan adds and lists (the URL from $SOLKEY_DB)", async () => {
    const add = await solkey(
      ["plan", "add", "home-50", "--currency", "KES", "--per-day", "50", "--db", fleet.url],
      env,
    );
    expect([add.code, add.stderr]).toEqual([0, ""]);
    const list = await solkey(["plan", "list", "--json"], { ...env, SOLKEY_DB: fleet.url });
    expect(JSON.parse(list.stdout).map((p: { name: string }) => p.name)).toEqual(["daily", "home-50"]);
    expect((await pgRows(fleet.url, "SELECT name FROM plans WHERE name = 'home-50'")).length).toBe(1);
  });

  it("account shows, and approve says what is wrong in one line", async () => {
    const show = await solkey(["account", "show", "SK-00000001", "--json", "--db", fleet.url], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ serial: "SK-00000001", phone: "254700000000", paid: 0 });
    const approve = await solkey(["account", "approve", "SK-00000001", "--db", fleet.url], env);
    expect([approve.code, approve.stderr]).toEqual([2, "solkey: SK-00000001 has no unlock waiting for approval\n"]);
  });

  it("payments lists orphans, assigns one (its code issued) and reverses it", async () => {
    await fleet.store.receive(paid("CLI-O1", "nobody"));
    const orphans = await solkey(["payments", "orphans", "--json", "--db", fleet.url], env);
    expect(JSON.parse(orphans.stdout).map((p: { transId: string }) => p.transId)).toEqual(["CLI-O1"]);
    const assign = await solkey(["payments", "assign", "CLI-O1", "SK-00000002", "--json", "--db", fleet.url], env);
    expect(JSON.parse(assign.stdout)).toMatchObject({ status: "coded", serial: "SK-00000002", code: { kind: "add" } });
    const reverse = await solkey(["payments", "reverse", "CLI-O1", "--note", "chargeback", "--db", fleet.url], env);
    expect(reverse.stdout).toMatch(/CLI-O1 .* reversed  SK-00000002/);
    expect(await pgRows(fleet.url, "SELECT status, note FROM payments WHERE trans_id = 'CLI-O1'")).toEqual([
      { status: "reversed", note: "chargeback" },
    ]);
  });

  it("apikey creates, lists and revokes, with no secret key needed", async () => {
    const create = await solkey(["apikey", "create", "--scope", "admin", "--name", "ops", "--json", "--db", fleet.url]);
    const made = JSON.parse(create.stdout) as { keyId: number; key: string };
    expect(made.key).toMatch(/^sk_[0-9a-f]{64}$/);
    const stored = await pgRows<{ key_sha256: Buffer }>(fleet.url, "SELECT key_sha256 FROM api_keys");
    expect(stored.map((r) => r.key_sha256.length)).toEqual([32]); // the hash, never the key
    expect((await solkey(["apikey", "list", "--db", fleet.url])).stdout).toMatch(/\tadmin\tops\t.*\tlive\n$/);
    expect((await solkey(["apikey", "revoke", String(made.keyId), "--db", fleet.url])).code).toBe(0);
    const again = await solkey(["apikey", "revoke", String(made.keyId), "--db", fleet.url]);
    expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/^solkey: API key \d+ was revoked at /)]);
    // The fleet's earlier payment commands are audited too (payment.*): this test's own entries are the keys'.
    const actions = await pgRows<{ action: string }>(
      fleet.url,
      "SELECT action FROM audit WHERE action LIKE 'apikey.%' ORDER BY audit_id",
    );
    expect(actions.map((a) => a.action)).toEqual(["apikey.create", "apikey.revoke"]);
  });

  it("an unreachable server is one line, not a stack trace", async () => {
    const r = await solkey(["plan", "list", "--db", "postgresql://nobody@localhost/fleet?host=/nonexistent"], env);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/^solkey: cannot reach PostgreSQL at .*\n$/)]);
  });
});
