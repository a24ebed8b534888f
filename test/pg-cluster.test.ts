// The concurrency proof on PostgreSQL (issue 18): four `solkey hub` processes and a command-line issuer
// (`solkey payments assign`) on one fleet, thousands of payments for a few hundred devices, duplicate callbacks sent
// to different processes; one hub is SIGKILLed and PostgreSQL restarted mid-run, unanswered payments sent again.
// Claims: every confirmed payment has exactly one code and one queued SMS, no message ID used twice, every code applies
// on its device.
import { execFile } from "child_process";
import fs from "fs";
import http from "http";
import path from "path";
import { promisify } from "util";
import { confirmation } from "../tools/bench/hub";
import { buildCli, post, startHub, type HubProcess } from "../tools/hubprocess";
import { enter, simOf, verdicts } from "./hub.helpers";
import { pgFleet, pgRows, startPostgres, type PgServer } from "./pg.helpers";

const DEVICES = 200;
const PAYMENTS = 2000;
const ORPHANS = 10;
const TOKEN = "cluster-token-0123456789";
const SOLKEY = path.join(__dirname, "..", "bin", "solkey.js");

let server: PgServer;
beforeAll(() => {
  server = startPostgres();
  buildCli();
}, 60_000);
afterAll(() => server.stop());

it(`${PAYMENTS} payments through 4 hubs and a CLI issuer, a hub killed and PostgreSQL restarted`, async () => {
  const fleet = await pgFleet(server, { protocol: "nexus-full" }, DEVICES);
  await fleet.store.close();
  const key = fs.readFileSync(fleet.access.secretKeyFile!, "utf8").trim();
  const env = { SOLKEY_MPESA_TOKEN: TOKEN, SOLKEY_MPESA_SHORTCODES: "600638", SOLKEY_LOG_LEVEL: "fatal" };
  const keyed = { ...env, SOLKEY_SECRET_KEY: key };
  const hubs: HubProcess[] = await Promise.all([0, 1, 2, 3].map(() => startHub(fleet.url, keyed)));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const serial = (i: number) => fleet.devices[i % DEVICES].serial;
  const confirmed = new Set<string>();
  /** Posts until some hub answers 200 (a killed hub or a restarting server: the next hub, a little later). */
  const deliver = async (id: string, ref: string, first: number) => {
    for (let attempt = 0; ; attempt++) {
      const hub = hubs[(first + attempt) % hubs.length];
      try {
        const r = await post(agent, hub.port, `/c2b/${TOKEN}/confirmation`, confirmation(id, ref));
        if (r.status === 200) return confirmed.add(id);
      } catch {
        // no answer: the provider retries
      }
      // Every hub gone for a minute (a crash on the restart) is a failure, not a test that waits out its timeout.
      if (attempt === 300) throw new Error(`no hub answered ${id} in 300 tries`);
      await new Promise((r) => setTimeout(r, 20 * Math.min(attempt, 10)));
    }
  };
  for (let i = 0; i < ORPHANS; i++) await deliver(`O${i}`, `nobody-${i}`, i);

  let next = 0;
  let killed = false;
  let restarted = false;
  const client = async () => {
    while (next < PAYMENTS) {
      const i = next++;
      // Every fifth payment is also sent, at once, to another process: a duplicate callback.
      await Promise.all([deliver(`P${i}`, serial(i), i), ...(i % 5 === 0 ? [deliver(`P${i}`, serial(i), i + 1)] : [])]);
      if (i === PAYMENTS / 4 && !killed) {
        killed = true;
        hubs[0].child.kill("SIGKILL");
        await hubs[0].exited;
        hubs[0] = await startHub(fleet.url, keyed);
      }
      if (i === PAYMENTS / 2 && !restarted) {
        restarted = true;
        server.restart("immediate"); // as a crash: the server recovers from its WAL
      }
    }
  };
  // The CLI issuer: each orphan assigned by its own `solkey payments assign` process while the hubs take payments.
  const issuer = async () => {
    const run = promisify(execFile);
    for (let i = 0; i < ORPHANS; i++)
      for (;;) {
        try {
          await run(process.execPath, [SOLKEY, "payments", "assign", `O${i}`, serial(i * 7), "--db", fleet.url], {
            env: { ...process.env, SOLKEY_SECRET_KEY: key },
          });
          break;
        } catch (e) {
          // PostgreSQL restarting: the command failed whole (one transaction); run it again.
          if (!/cannot reach|terminat|shut/i.test(String((e as { stderr?: string }).stderr))) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
  };
  try {
    await Promise.all([...Array.from({ length: 24 }, client), issuer()]);
  } finally {
    for (const hub of hubs) hub.child.kill("SIGTERM");
    await Promise.all(hubs.map((h) => h.exited));
    agent.destroy();
  }
  expect(killed && restarted).toBe(true);
  expect(confirmed.size).toBe(PAYMENTS + ORPHANS);

  const payments = await pgRows<{ trans_id: string; status: string; code_id: number | null }>(
    fleet.url,
    "SELECT trans_id, status, code_id FROM payments",
  );
  expect(payments).toHaveLength(PAYMENTS + ORPHANS); // each (provider, transaction id) stored once
  const stored = new Set(payments.map((p) => p.trans_id));
  expect([...confirmed].filter((id) => !stored.has(id))).toEqual([]); // nothing answered 200 is lost
  const notCoded = payments.filter((p) => p.status !== "coded" || p.code_id === null);
  expect(notCoded).toEqual([]);
  const codeIds = payments.map((p) => p.code_id);
  expect(new Set(codeIds).size).toBe(codeIds.length); // no code serves two payments
  const codes = await pgRows<{ device_id: number; seq: number; keycode: string }>(
    fleet.url,
    "SELECT device_id, seq, keycode FROM codes ORDER BY device_id, seq",
  );
  expect(codes).toHaveLength(payments.length); // none issued twice, none without its payment
  expect(new Set(codes.map((c) => `${c.device_id}:${c.seq}`)).size).toBe(codes.length);
  // Each code's SMS was queued in the code's own transaction, the hubs' and the CLI issuer's alike (its assign queues
  // as the hub does): one outbox row per code, through the kill and the restart.
  const queued = await pgRows<{ code_id: number }>(fleet.url, "SELECT code_id FROM sms_outbox ORDER BY code_id");
  expect(queued.map((q) => q.code_id)).toEqual(codeIds.map(Number).sort((a, b) => a - b));
  // And each assignment's audit entry with it: one per orphan, none for a command that failed whole.
  const audited = await pgRows<{ trans_id: string }>(
    fleet.url,
    "SELECT effect::json->>'transId' AS trans_id FROM audit WHERE action = 'payment.assign' ORDER BY 1",
  );
  expect(audited.map((a) => a.trans_id)).toEqual(Array.from({ length: ORPHANS }, (_, i) => `O${i}`).sort());
  for (const d of fleet.devices) {
    const sim = simOf(d);
    const mine = codes.filter((c) => c.device_id === d.deviceId);
    for (const c of mine) enter(sim, d, c.keycode);
    expect([d.serial, verdicts(sim.trace)]).toEqual([d.serial, mine.map(() => "applied")]);
  }
}, 600_000);
