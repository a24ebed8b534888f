// The operator API's work over HTTP on a real SQLite fleet with the SMS outbox wired as `solkey hub` wires it:
// ad-hoc codes with a reason kind (each accepted by the simulated device it was issued for), desired state choosing
// set or add per protocol, the window rule refusing, the audit trail of each action, keycodes hidden from read keys,
// metrics that move, search and paging, hostile strings kept as data, and no 500 on bad input.
import type { CodeHook } from "../fleet/storesteps";
import { Writable } from "stream";
import { openApiKeys } from "../fleet/apikeys";
import type { ProfileOptions } from "../fleet/profile";
import { buildApp } from "../hub/app";
import { startSms, type SmsService } from "../hub/sms/service";
import { engineFleets, ENGINES, type Engine } from "./engines.helpers";
import { c2b, creditOf, enter, phoneOf, simOf, testConfig, TOKEN, verdicts } from "./hub.helpers";

const DAY_S = 86_400;

const fleetOn = engineFleets();

async function setup(engine: Engine, profile: ProfileOptions, count = 2) {
  const late: { sms?: SmsService } = {}; // the hook is needed to open the store the service opens after
  const onCode: CodeHook = (code, account, device, id) => late.sms!.hooks.onCode(code, account, device, id);
  const clock = { offsetMs: 0 }; // moves the store's clock (the window rule's "delivered N days ago")
  const now = () => new Date(Date.now() + clock.offsetMs);
  const fleet = await fleetOn(engine, profile, count, undefined, {
    sqlite: { onCode, now },
    postgres: { onCode, now },
  });
  const printed: string[] = [];
  const sms = startSms({ db: fleet.db, env: {}, onEvent: () => {}, print: (l) => printed.push(l), pollMs: 20 });
  late.sms = sms;
  const keys = await openApiKeys(fleet.db);
  const logs: string[] = [];
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const app = buildApp({
    config: testConfig({ SOLKEY_LOG_LEVEL: "info" }),
    store: fleet.store,
    log,
    apiKeys: keys,
    smsReader: sms.reader,
    routes: sms.routes,
  });
  sms.start();
  const made = { read: (await keys.create("read", "r")).key, issue: (await keys.create("issue", "i")).key };
  const admin = (await keys.create("admin", "a")).key;
  const get = (url: string, k = made.read) =>
    app.inject({ method: "GET", url, headers: { authorization: `Bearer ${k}` } });
  const post = (url: string, payload: object, k = made.issue) =>
    app.inject({ method: "POST", url, headers: { authorization: `Bearer ${k}` }, payload });
  const pay = (transId: string, amount: string, ref: string) =>
    app.inject({ method: "POST", url: `/c2b/${TOKEN}/confirmation`, payload: c2b(transId, amount, ref) });
  const audit = async () =>
    (await get("/api/v1/audit?limit=1000", admin)).json().entries as {
      auditId: number;
      keyId: number | null;
      at: string;
      action: string;
      reason: string | null;
      effect: string;
    }[];
  const close = async () => {
    await app.close();
    await sms.stop();
    await fleet.store.close();
    await keys.close();
  };
  return { fleet, keys, app, key: made, admin, get, post, pay, audit, logs, printed, sms, clock, close };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Every keycode the fleet has issued (to look for in logs and the audit log). */
async function allKeycodes(t: Setup): Promise<string[]> {
  const codes = (await t.get("/api/v1/codes?limit=500", t.key.issue)).json().codes as { keycode: string }[];
  return codes.map((c) => c.keycode);
}

describe.each(ENGINES)("operator API on %s: ad-hoc codes", (engine) => {
  it("needs an issue key and a note, and each reason kind's code is accepted by the device", async () => {
    const t = await setup(engine, { protocol: "nexus-full" });
    const device = t.fleet.devices[0];
    const url = `/api/v1/devices/${device.serial}/codes`;
    const forbidden = await t.post(url, { action: "goodwill", days: 1, note: "read keys cannot" }, t.key.read);
    expect(forbidden.statusCode).toBe(403);
    const noNote = await t.post(url, { action: "goodwill", days: 1 });
    expect(noNote.statusCode).toBe(400);
    expect(noNote.json().error).toMatch(/note/);
    expect((await t.post(url, { action: "goodwill", note: "no days given" })).json().error).toMatch(/days/);
    expect((await t.post(url, { action: "unlock", days: 2, note: "days on unlock" })).statusCode).toBe(400);
    expect((await t.post(url, { action: "bribe", note: "not a reason kind" })).statusCode).toBe(400);

    const sim = simOf(device);
    const steps: [object, (credit: number | "unlocked") => boolean][] = [
      [{ action: "maintenance", minutes: 30, note: "technician checks the panel" }, (c) => c !== "unlocked" && c > 0],
      [{ action: "goodwill", days: 3, note: "outage in the area" }, (c) => c !== "unlocked" && c > 2.9 * DAY_S],
      [{ action: "wipe", note: "credit entered on the wrong unit" }, (c) => c === 0],
      [{ action: "goodwill", days: 2, note: "apology" }, (c) => c !== "unlocked" && c > 1.9 * DAY_S],
      [{ action: "repossession_lock", note: "contract ended, unit collected" }, (c) => c === 0],
      [{ action: "unlock", note: "sold outright for cash" }, (c) => c === "unlocked"],
    ];
    for (const [body, creditOk] of steps) {
      const r = await t.post(url, body);
      expect([JSON.stringify(body), r.statusCode]).toEqual([JSON.stringify(body), 200]);
      const { code, auditId, action } = r.json();
      expect(action).toBe((body as { action: string }).action);
      expect(typeof auditId).toBe("number");
      const before = verdicts(sim.trace).length;
      enter(sim, device, code.keycode);
      expect([action, verdicts(sim.trace).slice(before)]).toEqual([action, ["applied"]]);
      sim.type("*#");
      expect([action, creditOk(creditOf(sim))]).toEqual([action, true]);
    }
    const account = (await t.get(`/api/v1/accounts/${device.serial}`)).json().account;
    expect(account.unlock).toBe("issued");

    // The audit trail: one entry per code, with the key, the time, the note and the effect, never the keycode.
    const entries = (await t.audit()).filter((e) => e.action.startsWith("code."));
    expect(entries.map((e) => e.action)).toEqual([
      "code.maintenance",
      "code.goodwill",
      "code.wipe",
      "code.goodwill",
      "code.repossession_lock",
      "code.unlock",
    ]);
    const issueKeyId = (await t.keys.list()).find((k) => k.scope === "issue")!.keyId;
    for (const e of entries) {
      expect(e.keyId).toBe(issueKeyId);
      expect(Date.now() - Date.parse(e.at)).toBeLessThan(60_000);
      expect(JSON.parse(e.effect)).toMatchObject({ serial: device.serial });
    }
    expect(entries[1].reason).toBe("outage in the area");
    expect(JSON.parse(entries[1].effect)).toMatchObject({ kind: "add", days: 3, seconds: 3 * DAY_S });
    expect(JSON.parse(entries[4].effect)).toMatchObject({ kind: "lock", heldDays: 0, unlock: "no" });
    const keycodes = await allKeycodes(t);
    const digits = (k: string) => k.replace(/\D/g, "");
    const auditText = JSON.stringify(await t.audit());
    const logText = t.logs.join("");
    expect(logText).toMatch(/\/api\/v1\/devices/); // requests are logged...
    for (const k of keycodes) {
      expect(auditText).not.toContain(digits(k)); // ...but no code is, in the logs or the audit log
      expect(logText).not.toContain(digits(k));
    }
    await t.close();
  });

  it("refuses what OpenPAYGO cannot say (422) and a full window (409), naming why", async () => {
    const t = await setup(engine, { protocol: "openpaygo" });
    const url = `/api/v1/devices/${t.fleet.devices[0].serial}/codes`;
    for (const action of ["maintenance", "wipe"]) {
      const r = await t.post(url, { action, note: "not on this protocol" });
      expect(r.statusCode).toBe(422);
      expect(r.json()).toMatchObject({ refusal: "not_expressible", error: expect.stringMatching(/openpaygo has no/) });
    }
    await t.close();

    const n = await setup(engine, { protocol: "nexus-full" });
    const serial = n.fleet.devices[0].serial;
    const codes = `/api/v1/devices/${serial}/codes`;
    // A fresh device's window: IDs 24..63 above its 23. Adds leave the top ID for a catch-up set code.
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await n.post(codes, { action: "goodwill", days: 1, note: `day ${i}` })).statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(39);
    expect(statuses[39]).toBe(409);
    const full = await n.post(codes, { action: "goodwill", days: 1, note: "one more" });
    expect(full.json()).toMatchObject({
      refusal: "window_full",
      error: expect.stringMatching(/window is full.*--entered/),
    });
    const device = (await n.get(`/api/v1/devices/${serial}`)).json().device;
    expect(device.window).toEqual({ assumedEnteredSeq: 23, topSeq: 63, free: 1 });
    expect(device.codes).toMatchObject({ issued: 39, knownEntered: 0, issuedSeq: 62, enteredSeq: 23 });
    // A set code may take the top slot: desired state still goes out, and supersedes every outstanding add.
    const set = await n.post(`/api/v1/devices/${serial}/desired`, { days: 10, reason: "one code instead of 39" });
    expect(set.statusCode).toBe(200);
    expect(set.json().code.seq).toBe(63);
    const sim = simOf(n.fleet.devices[0]);
    enter(sim, n.fleet.devices[0], set.json().code.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    const after = await n.post(codes, { action: "repossession_lock", note: "window now full for sets too" });
    expect(after.statusCode).toBe(409);
    // Refused requests leave no code and no audit entry.
    expect((await n.audit()).filter((e) => e.action.startsWith("code."))).toHaveLength(40);
    // Operator codes age into "entered" as payments' codes do: 3 days on, the window is open again.
    n.clock.offsetMs = 4 * DAY_S * 1000;
    const later = (await n.get(`/api/v1/devices/${serial}`)).json().device;
    expect(later.window).toEqual({ assumedEnteredSeq: 63, topSeq: 103, free: 40 });
    expect((await n.post(codes, { action: "goodwill", days: 1, note: "after a week" })).statusCode).toBe(200);
    await n.close();
  });

  it("writes the audit entry in the code's own transaction: an audit that cannot be written leaves no code", async () => {
    const t = await setup(engine, { protocol: "nexus-full" });
    const serial = t.fleet.devices[0].serial;
    const count = async (table: string) =>
      Number((await t.fleet.rows<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
    const [codes, audit] = [await count("codes"), await count("audit")];
    const request = { action: "goodwill", days: 2, sms: false } as const;
    const failing = {
      keyId: null,
      action: "code.goodwill",
      reason: "the audit fails",
      effect: () => {
        throw new Error("audit refused");
      },
    };
    await expect(t.fleet.store.operatorCode(serial, request, failing)).rejects.toThrow(/audit refused/);
    expect([await count("codes"), await count("audit")]).toEqual([codes, audit]);
    const done = await t.fleet.store.operatorCode(serial, request, {
      ...failing,
      effect: (d) => ({ seq: d.code.seq }),
    });
    expect([await count("codes"), await count("audit")]).toEqual([codes + 1, audit + 1]);
    const [entry] = await t.fleet.rows<{ audit_id: number; effect: string }>(
      "SELECT audit_id, effect FROM audit ORDER BY audit_id DESC LIMIT 1",
    );
    expect([Number(entry.audit_id), JSON.parse(entry.effect)]).toEqual([done.auditId, { seq: done.code.seq }]);
    // A reversal likewise: its audit failing leaves the payment as it was.
    expect((await t.pay("QAUDIT1", "50.00", serial)).statusCode).toBe(200);
    const refused = t.fleet.store.reverse("mpesa", "QAUDIT1", "chargeback", { ...failing, action: "payment.reverse" });
    await expect(refused).rejects.toThrow(/audit refused/);
    expect((await t.fleet.store.payment("mpesa", "QAUDIT1"))?.status).toBe("coded");
    expect(await count("audit")).toBe(audit + 1);
    await t.close();
  });
});

describe.each(ENGINES)("operator API on %s: desired state", (engine) => {
  it.each([
    ["nexus-full", 5, "set"],
    ["openpaygo", 7, "set"],
    ["nexus-small", 30, "set"],
    ["nexus-small", 91, "add"], // a set code carries 90 or 92 days there, an add carries 91
  ] as const)("%s, %d days: issues a %s code the device applies", async (protocol, days, chose) => {
    const t = await setup(engine, { protocol });
    const device = t.fleet.devices[0];
    const r = await t.post(`/api/v1/devices/${device.serial}/desired`, { days, reason: "customer support ticket 88" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ chose, days, code: { kind: chose, seconds: days * DAY_S } });
    const sim = simOf(device);
    enter(sim, device, r.json().code.keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    sim.type(device.record.protocol === "nexus-small" ? "1" : "*#");
    if (protocol === "nexus-small") sim.wait(20_000);
    const credit = creditOf(sim) as number;
    expect(credit).toBeGreaterThan(days * DAY_S - 3600);
    expect(credit).toBeLessThanOrEqual(days * DAY_S);
    const account = (await t.get(`/api/v1/accounts/${device.serial}`)).json().account;
    expect(Math.round((Date.parse(account.paidUntil) - Date.now()) / 1000 / DAY_S)).toBe(days);
    const entry = (await t.audit()).find((e) => e.action === "code.desired")!;
    expect(entry.reason).toBe("customer support ticket 88");
    expect(JSON.parse(entry.effect)).toMatchObject({ chose, seconds: days * DAY_S });
    await t.close();
  });

  it("refuses a reduction the protocol cannot say, and sets 0 days as a lock", async () => {
    const t = await setup(engine, { protocol: "nexus-small" });
    const serial = t.fleet.devices[0].serial;
    const url = `/api/v1/devices/${serial}/desired`;
    expect((await t.post(url, { days: 100, reason: "a hundred days" })).json().chose).toBe("set");
    const down = await t.post(url, { days: 91, reason: "fewer days than the calendar" });
    expect(down.statusCode).toBe(422);
    expect(down.json()).toMatchObject({ refusal: "not_expressible", error: expect.stringMatching(/90 days.*92 days/) });
    const zero = await t.post(url, { days: 0, reason: "lock it" });
    expect(zero.json()).toMatchObject({ chose: "set", code: { kind: "lock" } });
    expect((await t.post(url, { days: 961, reason: "too many" })).statusCode).toBe(400);
    expect((await t.post(url, { days: 5 }, t.key.read)).statusCode).toBe(403);
    await t.close();
  });
});

describe.each(ENGINES)("operator API on %s: lists, search and what each key sees", (engine) => {
  it("finds devices by serial, phone and payment reference, pages them, and hides keycodes from read keys", async () => {
    const t = await setup(engine, { protocol: "nexus-full" }, 5);
    const [d0, d1, d2] = t.fleet.devices;
    expect((await t.pay("QRS7TU8VW9", "100.00", d2.serial)).statusCode).toBe(200);
    const serials = async (q: string) =>
      ((await t.get(`/api/v1/devices?q=${encodeURIComponent(q)}`)).json().devices as { serial: string }[]).map(
        (d) => d.serial,
      );
    expect(await serials(d1.serial.toLowerCase().replace("-", " "))).toEqual([d1.serial]);
    expect(await serials("0" + phoneOf(0).slice(3))).toEqual([d0.serial]); // 07..., the local form
    expect(await serials("qrs7tu8vw9")).toEqual([d2.serial]); // the receipt as typed, normalised
    expect(await serials(`mpesa:QRS7TU8VW9`)).toEqual([d2.serial]); // the code's payment reference
    expect(await serials("%")).toEqual([]); // LIKE wildcards are data
    expect(await serials("_")).toEqual([]);

    const seen: string[] = [];
    let after: string | null = null;
    const pages: number[] = [];
    do {
      const page: { devices: { serial: string }[]; next: string | null } = (
        await t.get(`/api/v1/devices?limit=2${after === null ? "" : `&after=${after}`}`)
      ).json();
      pages.push(page.devices.length);
      seen.push(...page.devices.map((d: { serial: string }) => d.serial));
      after = page.next;
    } while (after !== null);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual(t.fleet.devices.map((d) => d.serial));

    const asRead = (await t.get(`/api/v1/devices/${d2.serial}`)).json().device;
    expect(asRead).toMatchObject({ protocol: "nexus-full", account: { paid: 10000 }, credit: { owedDays: 2 } });
    expect(asRead.lastCode.keycode).toBeNull();
    const asIssue = (await t.get(`/api/v1/devices/${d2.serial}`, t.key.issue)).json().device;
    expect(asIssue.lastCode.keycode.replace(/\W/g, "").slice(-3)).toBe(asRead.lastCode.keycodeTail);
    const readCodes = (await t.get(`/api/v1/codes?serial=${d2.serial}`)).json().codes;
    expect(readCodes).toHaveLength(1);
    expect(readCodes[0]).toMatchObject({ keycode: null, seq: 24, paymentRef: "mpesa:QRS7TU8VW9" });
    const payments = (await t.get("/api/v1/payments?q=qrs7tu8vw9")).json().payments;
    expect(payments).toMatchObject([{ transId: "QRS7TU8VW9", status: "coded", code: { keycode: null } }]);
    expect((await t.get(`/api/v1/payments?status=coded&q=${d2.serial}`)).json().payments).toHaveLength(1);
    expect((await t.get("/api/v1/payments?status=orphan")).json().payments).toHaveLength(0);
    expect((await t.get("/api/v1/devices/NO-SUCH")).statusCode).toBe(404);
    expect((await t.get("/api/v1/codes?serial=NO-SUCH")).statusCode).toBe(404);
    await t.close();
  });

  it("lists SMS with their delivery state, and metrics move with payments, codes and SMS", async () => {
    const t = await setup(engine, { protocol: "nexus-full" });
    const metric = async (name: string) => {
      const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m").exec((await t.get("/metrics")).body);
      return m === null ? 0 : Number(m[1]);
    };
    const serial = t.fleet.devices[0].serial;
    expect(await metric('solkey_sms{state="sent"}')).toBe(0);
    expect(await metric("solkey_sms_outbox_depth")).toBe(0);
    await t.pay("QSMS1", "50.00", serial);
    const r = await t.post(`/api/v1/devices/${serial}/codes`, {
      action: "goodwill",
      days: 2,
      note: "sms it",
      sms: true,
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().sms.messageId).toEqual(expect.any(Number));
    const noSms = await t.post(`/api/v1/devices/${serial}/codes`, {
      action: "repossession_lock",
      note: "lock codes have no SMS text",
      sms: true,
    });
    expect(noSms.json()).toMatchObject({ refusal: "no_sms" });
    expect(await metric('solkey_codes{kind="add"}')).toBe(2);
    for (let i = 0; i < 100 && (await metric('solkey_sms{state="sent"}')) < 2; i++)
      await new Promise((ok) => setTimeout(ok, 20));
    expect(await metric('solkey_sms{state="sent"}')).toBe(2);
    expect(await metric("solkey_sms_outbox_depth")).toBe(0);
    await t.pay("QSMS2", "50.00", "nobody");
    expect(await metric("solkey_orphan_payments")).toBe(1);
    const read = (await t.get(`/api/v1/sms?serial=${serial}`)).json().messages;
    expect(read).toHaveLength(2);
    expect(read[0]).toMatchObject({ messageId: r.json().sms.messageId, state: "sent", text: null, serial });
    const full = (await t.get(`/api/v1/sms?status=sent`, t.key.issue)).json().messages;
    const digits = (r.json().code.keycode as string).replace(/\D/g, "");
    expect(full[0].text.replace(/\D/g, "")).toContain(digits);
    expect((await t.get("/api/v1/sms?status=queued")).json().messages).toEqual([]);
    await t.close();
  });

  it("returns hostile strings as data and answers bad input with a 4xx, never a 500", async () => {
    const t = await setup(engine, { protocol: "nexus-full" });
    const serial = t.fleet.devices[0].serial;
    const nul = await t.post(`/api/v1/devices/${serial}/codes`, { action: "goodwill", days: 1, note: "a \u0000 b" });
    // A NUL is refused before anything is issued, on both engines (PostgreSQL's text cannot hold one).
    expect(nul.statusCode).toBe(400);
    const hostile = `<script>alert(1)</script>'; DROP TABLE codes; -- \u202e ${"é".repeat(3)}`;
    const r = await t.post(`/api/v1/devices/${serial}/codes`, { action: "goodwill", days: 1, note: hostile });
    expect(r.statusCode).toBe(200);
    expect((await t.audit()).filter((e) => e.action === "code.goodwill").pop()!.reason).toBe(hostile);
    await t.pay("QHOST1", "50.00", `<img src=x onerror=alert(1)>`);
    const orphan = (await t.get("/api/v1/payments?status=orphan")).json().payments[0];
    expect(orphan.accountRef).toBe(`<img src=x onerror=alert(1)>`);
    const page = await t.app.inject({ method: "GET", url: "/docs" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'/);
    expect(page.body).toContain("/api/v1/devices/{serial}/desired");
    expect(page.body).not.toMatch(/<script|https?:\/\/(?!127)/);
    const bad = [
      "/api/v1/devices?limit=0",
      "/api/v1/devices?limit=501",
      "/api/v1/devices?limit=-1",
      "/api/v1/devices?after=abc",
      "/api/v1/devices?after=1e9",
      "/api/v1/devices?q=",
      `/api/v1/devices?q=${"x".repeat(200)}`,
      "/api/v1/devices?q=a&q=b",
      "/api/v1/devices?nope=1",
      "/api/v1/payments?status=paid",
      "/api/v1/payments?status[]=coded",
      "/api/v1/codes?serial=",
      "/api/v1/sms?status=lost",
      `/api/v1/devices/${"S".repeat(65)}`,
      "/api/v1/devices/%00",
      "/api/v1/devices/%E0%A4%A",
      "/api/v1/accounts/%2e%2e%2f",
    ];
    for (const url of bad) {
      const res = await t.get(url);
      expect([url, res.statusCode >= 400 && res.statusCode < 500]).toEqual([url, true]);
      expect([url, typeof res.json().error]).toEqual([url, "string"]);
    }
    // Odd but valid searches are data: they match nothing and answer 200.
    for (const q of ["'; DROP TABLE devices; --", "\\", "\u0007", "🙂", "07", "+"]) {
      const res = await t.get(`/api/v1/devices?q=${encodeURIComponent(q)}`);
      expect([q, res.statusCode, res.json().devices]).toEqual([q, 200, []]);
    }
    const badBodies = [
      { action: "goodwill", days: 1.5, note: "fraction" },
      { action: "goodwill", days: "2", note: "text" },
      { action: "goodwill", days: 1, note: "x" },
      { action: "goodwill", days: 1, note: "ok note", extra: true },
      { action: "maintenance", minutes: 0, note: "zero minutes" },
    ];
    for (const body of badBodies) {
      const res = await t.post(`/api/v1/devices/${serial}/codes`, body);
      expect([JSON.stringify(body), res.statusCode]).toEqual([JSON.stringify(body), 400]);
    }
    const raw = await t.app.inject({
      method: "POST",
      url: `/api/v1/devices/${serial}/codes`,
      headers: { authorization: `Bearer ${t.key.issue}`, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(raw.statusCode).toBe(400);
    await t.close();
  });
});
