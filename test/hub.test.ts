// The hub over HTTP with Daraja-shaped payloads: validation answers, confirmations stored and coded once, the
// matching rules (serial as typed, phone, hashed and masked MSISDN), wrong tokens, short codes and addresses, orphans
// assigned later, reversals, the signed webhook, bad input (4xx, never 500), and the codes typed on the simulated
// devices they were issued for; on SQLite and on PostgreSQL (one throwaway server for the file).
import Database from "better-sqlite3";
import fs from "fs";
import http from "http";
import path from "path";
import { Writable } from "stream";
import fc from "fast-check";
import { phoneHash } from "../fleet/accounts";
import { buy, type Money } from "../fleet/payments";
import type { PlanSpec } from "../fleet/store";
import { buildApp } from "../hub/app";
import { sign } from "../hub/providers/webhook";
import { scratch, solkey } from "./fleet.helpers";
import { engineFleets, ENGINES, type Engine, type EngineFleet } from "./engines.helpers";
import { c2b, DAILY, enter, hubFleet, phoneOf, simOf, testConfig, TOKEN, verdicts } from "./hub.helpers";

const WEBHOOK_SECRET = "w".repeat(40);

/** Log lines captured as text. */
function logSink(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const fleetOn = engineFleets();

async function setup(engine: Engine, extra: Record<string, string> = {}, plan: PlanSpec = DAILY) {
  const fleet = await fleetOn(engine, { protocol: "nexus-full" }, 3, plan);
  const logs = logSink();
  const app = buildApp({
    config: testConfig({ SOLKEY_WEBHOOK_SECRET: WEBHOOK_SECRET, ...extra }),
    store: fleet.store,
    log: logs.stream,
  });
  const post = (
    what: "validation" | "confirmation",
    body: object,
    headers: Record<string, string> = {},
    token = TOKEN,
  ) => app.inject({ method: "POST", url: `/c2b/${token}/${what}`, payload: body, headers });
  return { fleet, app, logs, post };
}

async function codesOf(fleet: EngineFleet): Promise<number> {
  return (await fleet.rows<{ n: number }>("SELECT count(*) AS n FROM codes"))[0].n;
}

describe.each(ENGINES)("hub on %s: Daraja C2B", (engine) => {
  it("answers GET /healthz", async () => {
    const { app, fleet } = await setup(engine);
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    await app.close();
    await fleet.store.close();
  });

  it("validates: known account accepted, unknown C2B00012, below minimum C2B00013, short code not served C2B00015", async () => {
    const { app, fleet, post } = await setup(engine);
    expect((await post("validation", c2b("RKT1", "50.00", "SK-00000001"))).json()).toEqual({
      ResultCode: "0",
      ResultDesc: "Accepted",
    });
    expect((await post("validation", c2b("RKT1", "50", "nobody"))).json()).toEqual({
      ResultCode: "C2B00012",
      ResultDesc: "Rejected",
    });
    expect((await post("validation", c2b("RKT1", "49.99", "SK-00000001"))).json()).toEqual({
      ResultCode: "C2B00013",
      ResultDesc: "Rejected",
    });
    const other = c2b("RKT1", "50", "SK-00000001", { BusinessShortCode: "123456" });
    expect((await post("validation", other)).json()).toMatchObject({ ResultCode: "C2B00015" });
    expect(await codesOf(fleet)).toBe(0); // validation writes nothing
    await app.close();
    await fleet.store.close();
  });

  it("stores a confirmation once: the repeat gets the same answer, never a second code; the device applies it", async () => {
    const { app, fleet, post } = await setup(engine);
    const body = c2b("RKTQDM7W6S", "150.00", "sk 0000-0001"); // serial as a payer types it
    const first = await post("confirmation", body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ ResultCode: 0, ResultDesc: "Accepted" });
    const again = await post("confirmation", body);
    expect(again.json()).toEqual(first.json());
    expect(await codesOf(fleet)).toBe(1);
    const stored = await fleet.store.payment("mpesa", "RKTQDM7W6S");
    expect(stored).toMatchObject({ status: "coded", serial: "SK-00000001", amount: 15000 });
    expect(stored?.code).toMatchObject({ kind: "add", seconds: 3 * 86400 });
    // Transaction ids compare exactly: another case is another payment.
    await post("confirmation", { ...body, TransID: "rktqdm7w6s" });
    expect(await codesOf(fleet)).toBe(2);
    const sim = simOf(fleet.devices[0]);
    enter(sim, fleet.devices[0], stored!.code!.keycode);
    enter(sim, fleet.devices[0], stored!.code!.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied", "duplicate"]);
    await app.close();
    await fleet.store.close();
  });

  it("matches the phone in BillRefNumber, a hashed MSISDN and a masked one that names one account", async () => {
    const { app, fleet, post } = await setup(engine);
    await post("confirmation", c2b("P1", "50", "0700000001"));
    await post("confirmation", c2b("P2", "50", "?", { MSISDN: phoneHash(phoneOf(2)) }));
    await post("confirmation", c2b("P3", "50", "", { MSISDN: "2547000000X0" }));
    await post("confirmation", c2b("P4", "50", "", { MSISDN: "2547000000X*" })); // three accounts fit: none chosen
    const serials = await Promise.all(["P1", "P2", "P3", "P4"].map((t) => fleet.store.payment("mpesa", t)));
    expect(serials.map((p) => [p?.serial, p?.status])).toEqual([
      ["SK-00000002", "coded"],
      ["SK-00000003", "coded"],
      ["SK-00000001", "coded"],
      [null, "orphan"],
    ]);
    await app.close();
    await fleet.store.close();
  });

  it("a wrong token is a logged 404 (the token itself never logged); a short code not served is refused", async () => {
    const { app, fleet, post, logs } = await setup(engine);
    const wrong = await post("confirmation", c2b("W1", "50", "SK-00000001"), {}, "not-the-token-at-all");
    expect(wrong.statusCode).toBe(404);
    expect(logs.text()).toContain("wrong path token");
    const refused = await post("confirmation", c2b("W2", "50", "SK-00000001", { BusinessShortCode: "999999" }));
    expect(refused.statusCode).toBe(422);
    expect(await codesOf(fleet)).toBe(0);
    await post("confirmation", c2b("W3", "50", "SK-00000001"));
    expect(logs.text()).not.toContain(TOKEN);
    const code = (await fleet.store.payment("mpesa", "W3"))?.code?.keycode;
    expect(code).toBeDefined();
    expect(logs.text()).not.toContain(code!);
    await app.close();
    await fleet.store.close();
  });

  it("takes callbacks only from allowed addresses, believing X-Forwarded-For only from the configured proxy", async () => {
    const allow = { SOLKEY_MPESA_ALLOW: "196.201.214.0/24" };
    const direct = await setup(engine, allow);
    const spoofed = await direct.post("confirmation", c2b("A1", "50", "SK-00000001"), {
      "x-forwarded-for": "196.201.214.200",
    });
    expect(spoofed.statusCode).toBe(403);
    await direct.app.close();
    await direct.fleet.store.close();
    const proxied = await setup(engine, { ...allow, SOLKEY_TRUSTED_PROXIES: "127.0.0.1" });
    const ok = await proxied.post("confirmation", c2b("A2", "50", "SK-00000001"), {
      "x-forwarded-for": "196.201.214.200",
    });
    expect(ok.statusCode).toBe(200);
    const outside = await proxied.post("confirmation", c2b("A3", "50", "SK-00000001"), {
      "x-forwarded-for": "8.8.8.8",
    });
    expect(outside.statusCode).toBe(403);
    await proxied.app.close();
    await proxied.fleet.store.close();
  });

  it("bad input is a 4xx with a reason, never a 500", async () => {
    const { app, fleet } = await setup(engine);
    const bad: [object | string, number][] = [
      [{}, 400],
      [{ ...c2b("B1", "50", "x"), TransAmount: "fifty" }, 400],
      [{ ...c2b("B1", "50", "x"), TransAmount: "0.00" }, 400],
      [{ ...c2b("B1", "50", "x"), TransAmount: "1e3" }, 400],
      [{ ...c2b("B1", "50", "x"), TransID: "A B" }, 400],
      [{ ...c2b("B1", "50", "x"), TransID: ["x"] }, 400],
      [{ ...c2b("B1", "50", "x"), BillRefNumber: "x".repeat(10_000) }, 400],
      ["[1,2", 400],
      ["null", 400],
      [{ ...c2b("B1", "50", "x"), junk: "y".repeat(20_000) }, 413],
    ];
    for (const [body, status] of bad) {
      const r = await app.inject({
        method: "POST",
        url: `/c2b/${TOKEN}/confirmation`,
        payload: typeof body === "string" ? body : JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      expect([JSON.stringify(body).slice(0, 40), r.statusCode]).toEqual([JSON.stringify(body).slice(0, 40), status]);
      expect(typeof r.json().error).toBe("string");
    }
    const text = await app.inject({
      method: "POST",
      url: `/c2b/${TOKEN}/confirmation`,
      payload: "x",
      headers: { "content-type": "text/plain" },
    });
    expect(text.statusCode).toBe(400);
    expect((await app.inject({ method: "GET", url: "/nothing" })).statusCode).toBe(404);
    expect(await codesOf(fleet)).toBe(0);
    await app.close();
    await fleet.store.close();
  });

  it("serves real HTTP on a random loopback port", async () => {
    const { app, fleet } = await setup(engine);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as { port: number };
    const body = JSON.stringify(c2b("H1", "100", "SK-00000003"));
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          port,
          host: "127.0.0.1",
          method: "POST",
          path: `/c2b/${TOKEN}/confirmation`,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve(text));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(JSON.parse(answer)).toEqual({ ResultCode: 0, ResultDesc: "Accepted" });
    expect((await fleet.store.payment("mpesa", "H1"))?.code?.seconds).toBe(2 * 86400);
    await app.close();
    await fleet.store.close();
  });
});

describe.each(ENGINES)("hub on %s: accounts and money", (engine) => {
  it("orphans wait for an account; the code follows the assignment, and the device applies it", async () => {
    const { app, fleet, post } = await setup(engine);
    await post("confirmation", c2b("O1", "100", "SK-0000000X"));
    expect((await fleet.store.orphans()).map((p) => p.transId)).toEqual(["O1"]);
    const assigned = await fleet.store.assign("mpesa", "O1", "sk-00000002");
    expect(assigned).toMatchObject({ status: "coded", serial: "SK-00000002" });
    expect(await fleet.store.orphans()).toEqual([]);
    await expect(fleet.store.assign("mpesa", "O1", "SK-00000001")).rejects.toThrow("not an orphan");
    const sim = simOf(fleet.devices[1]);
    enter(sim, fleet.devices[1], assigned.code!.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    await app.close();
    await fleet.store.close();
  });

  it("deposit first, remainder kept, reversal owed back before the next credit, unlock at the total after approval", async () => {
    const plan: PlanSpec = {
      name: "own",
      currency: "KES",
      perDay: 5000,
      minPayment: 2000,
      deposit: 10000,
      total: 40000,
      approveUnlock: true,
    };
    const { app, fleet, post } = await setup(engine, {}, plan);
    const status = async (t: string) => (await fleet.store.payment("mpesa", t))?.status;
    await post("confirmation", c2b("D1", "80", "SK-00000001"));
    expect(await status("D1")).toBe("deposit");
    await post("confirmation", c2b("D2", "90", "SK-00000001")); // 20 finishes the deposit, 70 buys 1 day, 20 kept
    expect((await fleet.store.payment("mpesa", "D2"))?.code?.seconds).toBe(86400);
    expect((await fleet.store.account("SK-00000001")).remainder).toBe(2000);
    await post("confirmation", c2b("D3", "10", "SK-00000001"));
    expect(await status("D3")).toBe("below_minimum");
    await fleet.store.reverse("mpesa", "D2", "R-123");
    expect(await fleet.store.account("SK-00000001")).toMatchObject({ paid: 9000, remainder: -6000 });
    await post("confirmation", c2b("D4", "100", "SK-00000001")); // pays the debt back first: 40 left, no day
    expect(await status("D4")).toBe("remainder");
    await post("confirmation", c2b("D5", "300", "SK-00000001")); // paid 400: the total
    expect(await status("D5")).toBe("unlock_pending");
    const unlocked = await fleet.store.approveUnlock("SK-00000001");
    expect(unlocked.code?.kind).toBe("unlock");
    await expect(fleet.store.approveUnlock("SK-00000001")).rejects.toThrow("no unlock waiting");
    await app.close();
    await fleet.store.close();
  });
});

describe("hub: money", () => {
  it("never loses money: paid = deposit paid + days x price + remainder, for any payments", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50_000 }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 20_000 }),
        (amounts, deposit) => {
          const plan: PlanSpec = { ...DAILY, deposit, minPayment: 3000 };
          let money: Money = { paid: 0, depositDue: deposit, remainder: 0, unlock: "no" };
          let days = 0;
          for (const a of amounts) {
            const b = buy(plan, money, a);
            money = b.money;
            days += b.days;
            expect(b.days === 0 || a >= plan.minPayment).toBe(true);
          }
          expect(money.paid).toBe(deposit - money.depositDue + days * plan.perDay + money.remainder);
          expect(money.remainder).toBeLessThan(
            plan.perDay + Math.max(0, ...amounts.filter((a) => a < plan.minPayment)) * amounts.length,
          );
        },
      ),
    );
  });
});

describe.each(ENGINES)("hub on %s: signed webhook", (engine) => {
  const payload = (id: string) =>
    JSON.stringify({ transactionId: id, amount: 10000, currency: "KES", account: "SK-00000001" });
  it("takes a signed payment once; refuses a bad signature, a tampered body and an old timestamp", async () => {
    const now = 1_800_000_000_000;
    const fleet = await fleetOn(engine, { protocol: "openpaygo" }, 1);
    const app = buildApp({
      config: testConfig({ SOLKEY_WEBHOOK_SECRET: WEBHOOK_SECRET }),
      store: fleet.store,
      log: false,
      now: () => now,
    });
    const send = (body: string, ts: number, signature = sign(WEBHOOK_SECRET, ts, body)) =>
      app.inject({
        method: "POST",
        url: "/webhook/mtn-momo",
        payload: body,
        headers: {
          "content-type": "application/json",
          "x-solkey-timestamp": String(ts),
          "x-solkey-signature": signature,
        },
      });
    const ts = now / 1000;
    const ok = await send(payload("M1"), ts);
    expect(ok.json()).toEqual({ status: "coded", transactionId: "M1", serial: "SK-00000001", replayed: false });
    expect((await send(payload("M1"), ts + 10)).json()).toMatchObject({ replayed: true });
    expect((await send(payload("M2"), ts, sign("x".repeat(40), ts, payload("M2")))).statusCode).toBe(401);
    expect((await send(payload("M3"), ts, sign(WEBHOOK_SECRET, ts, payload("M2")))).statusCode).toBe(401);
    expect((await send(payload("M4"), ts - 301)).statusCode).toBe(401);
    expect((await send(payload("M5"), ts, "sha256=zz")).statusCode).toBe(401);
    const asMpesa = await app.inject({
      method: "POST",
      url: "/webhook/mpesa",
      payload: payload("M7"),
      headers: {
        "content-type": "application/json",
        "x-solkey-timestamp": String(ts),
        "x-solkey-signature": sign(WEBHOOK_SECRET, ts, payload("M7")),
      },
    });
    expect(asMpesa.statusCode).toBe(400); // M-Pesa's transaction ids are Daraja's alone
    expect(
      (await send(JSON.stringify({ transactionId: "M6", amount: 1.5, currency: "KES", account: "x" }), ts)).statusCode,
    ).toBe(400);
    const code = (await fleet.store.payment("mtn-momo", "M1"))!.code!;
    const sim = simOf(fleet.devices[0]);
    enter(sim, fleet.devices[0], code.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    await app.close();
    await fleet.store.close();
  });
});

describe.each(ENGINES)("hub on %s: reconciliation", (engine) => {
  it("processes the statement's payments the hub never received, once, and refuses a file that is no statement", async () => {
    const fleet = await fleetOn(engine, { protocol: "nexus-small" }, 2);
    await fleet.store.receive({
      provider: "mpesa",
      transId: "RCV1",
      amount: 5000,
      currency: "KES",
      shortCode: "600638",
      accountRef: "SK-00000001",
      msisdn: null,
      paidAt: null,
      via: "callback",
    });
    await fleet.store.close();
    const dir = path.dirname(fleet.file);
    const csv = path.join(dir, "statement.csv");
    fs.writeFileSync(
      csv,
      [
        "Account Statement,,,,",
        "Short Code,600638",
        "Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.",
        'RCV1,2026-12-05 10:00:01,2026-12-05 10:00:00,Pay Bill from 2547****001,Completed,50.00,,"1,050.00",true,Pay Bill Online,254700000001 - JANE DOE,,SK-00000001',
        'RCV2,2026-12-05 11:00:01,2026-12-05 11:00:00,Pay Bill,Completed,"1,000.00",,"2,050.00",true,Pay Bill Online,2547*****001 - JANE DOE,,SK 00000002',
        "RCV3,2026-12-05 12:00:01,2026-12-05 12:00:00,Pay Bill,Cancelled,50.00,,,true,Pay Bill Online,,,SK-00000002",
        "RCV4,2026-12-05 13:00:01,2026-12-05 13:00:00,Withdrawal,Completed,,500.00,,true,,,,",
      ].join("\n"),
    );
    const first = await solkey(["payments", "reconcile", csv, "--db", fleet.db, "--json"], fleet.env);
    expect(first.code).toBe(0);
    const r = JSON.parse(first.stdout) as {
      known: { transId: string }[];
      added: { transId: string; status: string; code: { seconds: number } }[];
    };
    expect(r.known.map((p) => p.transId)).toEqual(["RCV1"]);
    expect(r.added).toMatchObject([{ transId: "RCV2", status: "coded", code: { seconds: 20 * 86400 } }]);
    const again = JSON.parse(
      (await solkey(["payments", "reconcile", csv, "--db", fleet.db, "--json"], fleet.env)).stdout,
    );
    expect(again.added).toEqual([]);
    fs.writeFileSync(csv, "a,b,c\n1,2,3\n");
    expect(await solkey(["payments", "reconcile", csv, "--db", fleet.db], fleet.env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("M-Pesa statement"),
    });
  });
});

describe("hub: the command line", () => {
  it("plan, account and payments commands; hub refuses to start without its settings or on a non-fleet file", async () => {
    const fleet = await hubFleet({ protocol: "nexus-full" }, 2);
    await fleet.store.close();
    const db = ["--db", fleet.file];
    expect(
      await solkey([
        "plan",
        "add",
        "home",
        "--currency",
        "kes",
        "--per-day",
        "49.50",
        "--deposit",
        "500",
        "--total",
        "15000",
        ...db,
      ]),
    ).toMatchObject({
      code: 0,
      stdout: "plan home: KES 49.50/day, min 49.50, deposit 500.00, total 15000.00\n",
    });
    expect((await solkey(["plan", "add", "home", "--currency", "KES", "--per-day", "50", ...db])).stderr).toContain(
      "already",
    );
    expect((await solkey(["plan", "add", "x", "--currency", "KES", "--per-day", "5o", ...db])).code).toBe(2);
    expect(
      (await solkey(["account", "add", "SK-00000002", "--phone", "+254712345678", "--plan", "home", ...db])).stderr,
    ).toContain("already has an account");
    expect(
      (await solkey(["account", "add", "SK-00000009", "--phone", "+254712345678", "--plan", "home", ...db])).stderr,
    ).toContain("not in");
    expect((await solkey(["account", "add", "SK-00000001", "--phone", "12", "--plan", "home", ...db])).code).toBe(2);
    expect((await solkey(["payments", "assign", "NOPE", "SK-00000001", ...db])).stderr).toContain(
      "no mpesa payment NOPE",
    );
    expect(await solkey(["payments", "orphans", ...db])).toMatchObject({ code: 0, stdout: "" });

    const noToken = await solkey(["hub", ...db, "--port", "0"], {
      SOLKEY_MPESA_TOKEN: "",
      SOLKEY_MPESA_SHORTCODES: "600638",
    });
    expect(noToken).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^solkey: SOLKEY_MPESA_TOKEN is not set.*\n$/),
    });
    const other = path.join(scratch("hub-other"), "other.db");
    const foreign = new Database(other);
    foreign.exec("CREATE TABLE t (x)");
    foreign.close();
    const notFleet = await solkey(["hub", "--db", other, "--port", "0"], {
      SOLKEY_MPESA_TOKEN: TOKEN,
      SOLKEY_MPESA_SHORTCODES: "600638",
    });
    expect(notFleet).toMatchObject({ code: 1, stderr: expect.stringContaining("not a fleet database") });
    const env = path.join(path.dirname(fleet.file), "hub.env");
    fs.writeFileSync(env, "SOLKEY_MPESA_TOKEN=short\nSOLKEY_MPESA_SHORTCODES=600638\n");
    const badEnv = await solkey(["hub", ...db, "--env-file", env]);
    expect(badEnv).toMatchObject({ code: 2, stderr: expect.stringContaining("SOLKEY_MPESA_TOKEN expected") });
  });
});
