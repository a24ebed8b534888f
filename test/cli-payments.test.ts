// The command line's payment actions that issue codes (`payments assign`, `account approve`, `payments release`) on
// both engines: each code's SMS is queued and an audit entry (the command line, the OS user, the note, the effect)
// written in the code's own transaction, as the hub's API does.
import os from "os";
import type { PlanSpec } from "../fleet/store";
import { engineFleets, ENGINES, type EngineFleet } from "./engines.helpers";
import { solkey } from "./fleet.helpers";
import { paid } from "./pg.helpers";

const fleetOn = engineFleets();

interface AuditRow {
  key_id: number | null;
  action: string;
  reason: string | null;
  effect: string;
}

/** The outbox rows and audit entries the command left, with the codes of the payments it names. */
async function traces(fleet: EngineFleet) {
  const outbox = await fleet.rows<{ code_id: number; purpose: string }>(
    "SELECT code_id, purpose FROM sms_outbox ORDER BY message_id",
  );
  const audit = (await fleet.rows<AuditRow>("SELECT key_id, action, reason, effect FROM audit ORDER BY audit_id")).map(
    (r) => ({ ...r, effect: JSON.parse(r.effect) as Record<string, unknown> }),
  );
  return { outbox, audit };
}

const actor = { via: "command line", user: os.userInfo().username };

describe.each(ENGINES)("payment commands on %s", (engine) => {
  it("payments assign: the orphan's code, its SMS and its audit entry", async () => {
    const fleet = await fleetOn(engine, { protocol: "nexus-full" }, 2);
    const serial = fleet.devices[1].serial;
    expect((await fleet.store.receive(paid("O1", "NOBODY"))).status).toBe("orphan");
    await fleet.store.close();
    const db = ["--db", fleet.db];
    const r = await solkey(
      ["payments", "assign", "O1", serial, "--note", "paid at the shop", ...db, "--json"],
      fleet.env,
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const outcome = JSON.parse(r.stdout);
    expect(outcome).toMatchObject({ status: "coded", serial });
    const [payment] = await fleet.rows<{ code_id: number }>("SELECT code_id FROM payments WHERE trans_id = 'O1'");
    expect(await traces(fleet)).toEqual({
      outbox: [{ code_id: payment.code_id, purpose: "code" }],
      audit: [
        {
          key_id: null,
          action: "payment.assign",
          reason: "paid at the shop",
          effect: { actor, provider: "mpesa", transId: "O1", serial, status: "coded", codeSeq: outcome.code.seq },
        },
      ],
    });
    // Refused (no longer an orphan): nothing queued, nothing audited.
    expect((await solkey(["payments", "assign", "O1", serial, ...db], fleet.env)).code).toBe(2);
    expect((await traces(fleet)).audit).toHaveLength(1);
  });

  it("account approve: the unlock code, its SMS and its audit entry (no note: none recorded)", async () => {
    const plan: PlanSpec = {
      name: "own",
      currency: "KES",
      perDay: 5000,
      minPayment: 2000,
      deposit: 0,
      total: 20000,
      approveUnlock: true,
    };
    const fleet = await fleetOn(engine, { protocol: "nexus-full" }, 1, plan);
    const serial = fleet.devices[0].serial;
    expect((await fleet.store.receive(paid("U1", serial, 20000))).status).toBe("unlock_pending");
    await fleet.store.close();
    const r = await solkey(["account", "approve", serial, "--db", fleet.db, "--json"], fleet.env);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const outcome = JSON.parse(r.stdout);
    expect(outcome.code).toMatchObject({ kind: "unlock" });
    const [payment] = await fleet.rows<{ code_id: number }>("SELECT code_id FROM payments WHERE trans_id = 'U1'");
    const { outbox, audit } = await traces(fleet);
    expect(outbox).toEqual([{ code_id: payment.code_id, purpose: "unlock" }]);
    expect(audit).toEqual([
      {
        key_id: null,
        action: "account.approve",
        reason: null,
        effect: { actor, provider: "mpesa", transId: "U1", serial, status: "coded", codeSeq: outcome.code.seq },
      },
    ]);
  });

  it("payments release: held credit coded once the window has room, with its SMS and audit entry", async () => {
    const fleet = await fleetOn(engine, { protocol: "nexus-full" }, 1);
    const serial = fleet.devices[0].serial;
    // Daily payments until the device's window is full and the next is held (window rule).
    let last = await fleet.store.receive(paid("H0", serial));
    for (let i = 1; last.status === "coded" && i < 200; i++) last = await fleet.store.receive(paid(`H${i}`, serial));
    expect(last.status).toBe("held");
    const [newest] = await fleet.rows<{ keycode: string }>(
      "SELECT keycode FROM codes WHERE payment_ref IS NOT NULL ORDER BY code_id DESC LIMIT 1",
    );
    await fleet.store.close();
    const db = ["--db", fleet.db];
    // Before the window has room, nothing is released and nothing audited.
    expect(JSON.parse((await solkey(["payments", "release", ...db, "--json"], fleet.env)).stdout)).toEqual([]);
    expect((await traces(fleet)).audit).toEqual([]);
    // The customer entered every code so far: the window moves past them.
    expect((await solkey(["issue", serial, "--entered", newest.keycode, ...db], fleet.env)).code).toBe(0);
    const r = await solkey(["payments", "release", "--note", "window reopened", ...db, "--json"], fleet.env);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const [released] = JSON.parse(r.stdout);
    expect(released).toMatchObject({ transId: last.transId, status: "coded" });
    const [payment] = await fleet.rows<{ code_id: number }>("SELECT code_id FROM payments WHERE trans_id = ?", [
      last.transId,
    ]);
    const { outbox, audit } = await traces(fleet);
    expect(outbox.at(-1)).toEqual({ code_id: payment.code_id, purpose: "code" });
    expect(audit).toEqual([
      {
        key_id: null,
        action: "payment.release",
        reason: "window reopened",
        effect: {
          actor,
          provider: "mpesa",
          transId: last.transId,
          serial,
          status: "coded",
          codeSeq: released.code.seq,
        },
      },
    ]);
  });
});
