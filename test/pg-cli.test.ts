// Every command that takes --db, on a postgres:// URL (issue 18), run as the operator runs it (tools/cli.ts main):
// provision, issue, explain, recover, plan, account, payments and apikey work on the server fleet (the URL also from
// $SOLKEY_DB); what is still SQLite only (issue --batch) refuses it in one line.
import fs from "fs";
import path from "path";
import { SEALED_LENGTH } from "../fleet/sealing";
import { scratch, solkey } from "./fleet.helpers";
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
    const actions = await pgRows<{ action: string }>(fleet.url, "SELECT action FROM audit ORDER BY audit_id");
    expect(actions.map((a) => a.action)).toEqual(["apikey.create", "apikey.revoke"]);
  });

  it("issue codes once per reference, records an entered code, lists the history; explain names the code", async () => {
    const args = ["issue", "SK-00000001", "--days", "3", "--ref", "RCPT-1", "--json", "--db", fleet.url];
    const first = JSON.parse((await solkey(args, env)).stdout);
    expect(first).toMatchObject({ serial: "SK-00000001", kind: "add", seconds: 3 * 86400, replayed: false });
    expect(JSON.parse((await solkey(args, env)).stdout)).toMatchObject({ keycode: first.keycode, replayed: true });
    const other = await solkey(["issue", "SK-00000001", "--days", "4", "--ref", "RCPT-1", "--db", fleet.url], env);
    expect([other.code, other.stderr]).toEqual([2, expect.stringMatching(/already paid for .* one receipt/)]);
    const entered = await solkey(["issue", "SK-00000001", "--entered", first.keycode, "--db", fleet.url], env);
    expect(entered.stdout).toBe(`SK-00000001: ${first.seq} recorded as entered; highest applied ${first.seq}\n`);
    const history = JSON.parse(
      (await solkey(["issue", "SK-00000001", "--history", "--json", "--db", fleet.url], env)).stdout,
    );
    expect(history.codes.map((c: { keycode: string }) => c.keycode)).toContain(first.keycode);
    const explained = await solkey(["explain", "SK-00000001", first.keycode, "--json", "--db", fleet.url], env);
    expect(JSON.parse(explained.stdout)).toMatchObject({ verdict: "issued", serial: "SK-00000001" });
    const foreign = await solkey(["explain", "SK-00000002", first.keycode, "--db", fleet.url], env);
    expect(foreign.stdout).toMatch(/is not SK-00000002's: it was issued to SK-00000001/);
  });

  it("recover writes the journal image and records the recovery", async () => {
    const out = path.join(scratch("pg-recover"), "out");
    const r = await solkey(
      ["recover", "SK-00000002", "--credit-days", "2", "--out", out, "--json", "--db", fleet.url],
      env,
    );
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(JSON.parse(r.stdout)).toMatchObject({ serial: "SK-00000002" });
    expect(fs.readdirSync(out).length).toBeGreaterThan(0);
    const [row] = await pgRows<{ credit_seconds: number; record: Buffer }>(
      fleet.url,
      "SELECT credit_seconds, record FROM recoveries",
    );
    expect(row.credit_seconds).toBe(2 * 86400);
    expect(Buffer.isBuffer(row.record) && row.record.length > 0).toBe(true);
    const [device] = await pgRows<{ issued_seq: number; entered_seq: number }>(
      fleet.url,
      "SELECT issued_seq, entered_seq FROM devices WHERE serial = 'SK-00000002'",
    );
    expect(device.entered_seq).toBe(device.issued_seq);
    const unknown = await solkey(["recover", "SK-09", "--credit-days", "1", "--out", out, "--db", fleet.url], env);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/^solkey: device SK-09 is not in /)]);
  });

  it("provision adds a batch, sealed under the fleet's key, that issue then codes", async () => {
    const out = path.join(scratch("pg-provision"), "out");
    const args = ["provision", "--protocol", "nexus-small", "--count", "2", "--random-keys", "--serial-prefix", "PG"];
    const p = await solkey([...args, "--out", out, "--json", "--db", fleet.url], env);
    expect([p.code, p.stderr]).toEqual([0, ""]);
    const rows = await pgRows<{ device_id: number; serial: string; image: Buffer }>(
      fleet.url,
      "SELECT device_id, serial, image FROM devices WHERE serial LIKE 'PG%' ORDER BY device_id",
    );
    expect(rows.map((r) => [r.device_id, r.image.length])).toEqual([
      [3, SEALED_LENGTH],
      [4, SEALED_LENGTH],
    ]);
    expect(fs.readdirSync(out).filter((f) => f.startsWith(rows[0].serial)).length).toBeGreaterThan(0);
    const issued = await solkey(["issue", rows[1].serial, "--days", "2", "--json", "--db", fleet.url], env);
    expect(JSON.parse(issued.stdout)).toMatchObject({ serial: rows[1].serial, kind: "add", seconds: 2 * 86400 });
    const again = await solkey([...args, "--first-id", "4", "--out", out + "2", "--db", fleet.url], env);
    expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/^solkey: device id 4 is already in /)]);
  });

  it("an unreachable server is one line, not a stack trace", async () => {
    const r = await solkey(["plan", "list", "--db", "postgresql://nobody@localhost/fleet?host=/nonexistent"], env);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/^solkey: cannot reach PostgreSQL at .*\n$/)]);
  });
});
