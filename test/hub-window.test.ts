// The window rule (fleet/payments.ts creditCode, ARCHITECTURE.md) over three months of simulated payments, per
// protocol, with customers who enter their codes at once, late, out of order, never (then all at the end), and one
// who pays many times a day (the window fills: a catch-up set code, credit held and released). Every code is typed
// on the real firmware in the simulator. Claims: no code the hub issued is ever refused as invalid; nothing paid is
// lost (no catch-up: the device holds every day bought; with one: at least what the calendar still owes); nothing
// stays held once the outstanding codes have aged.
import fc from "fast-check";
import { DAY_MS } from "../fleet/payments";
import type { PaymentOutcome } from "../fleet/store";
import { creditOf, DAILY, enter, hubFleet, simOf, verdicts } from "./hub.helpers";

const DAYS = 90;
const HOUR_MS = 3_600_000;

type Habit = "prompt" | "late" | "shuffled" | "never" | "burst";
const HABITS: readonly Habit[] = ["prompt", "late", "shuffled", "never", "burst"];

describe.each([[{ protocol: "nexus-full" }], [{ protocol: "nexus-small" }], [{ protocol: "openpaygo" }]] as const)(
  "window rule over %j",
  (profile) => {
    it("three months of payments: no issued code refused, nothing paid lost, nothing held for ever", async () => {
      let now = Date.UTC(2026, 0, 1);
      const fleet = await hubFleet(profile, HABITS.length, DAILY, { now: () => new Date(now), enteredAfterDays: 3 });
      const rng = fc.sample(fc.integer({ min: 0, max: 1_000_000 }), { numRuns: 20_000, seed: 42 });
      let r = 0;
      const random = (n: number) => rng[r++ % rng.length] % n;
      const customers = HABITS.map((habit, i) => ({
        habit,
        device: fleet.devices[i],
        sim: simOf(fleet.devices[i]),
        waiting: [] as string[],
        catchUps: 0,
        held: 0,
        poweredMs: 0,
        cycles: 0,
      }));
      for (const c of customers) c.sim.powerOff();
      let tx = 0;
      const pay = async (i: number, amount: number): Promise<PaymentOutcome> => {
        const c = customers[i];
        const p = await fleet.store.receive({
          provider: "mpesa",
          transId: `T${++tx}`,
          amount,
          currency: "KES",
          shortCode: "600638",
          accountRef: c.device.serial,
          msisdn: null,
          paidAt: null,
          via: "callback",
        });
        if (p.status === "held") c.held++;
        return p;
      };
      const collect = (p: PaymentOutcome) => {
        const c = customers.find((x) => x.device.serial === p.serial)!;
        if (p.code === null) return;
        c.waiting.push(p.code.keycode);
        if (p.code.kind === "set") c.catchUps++;
      };
      /** The customer types what they have, in their habit's order, with the device powered only meanwhile. */
      const typeAll = (c: (typeof customers)[number], order: "in" | "shuffled") => {
        const codes = c.waiting.splice(0);
        if (order === "shuffled") codes.sort(() => (random(2) === 0 ? -1 : 1));
        c.sim.powerOn();
        // Powered long enough for the attempt limiter (Nexus: one entry per 720 s of uptime) to allow them all.
        const powered = codes.length * 720_000 + 60_000;
        c.sim.wait(powered);
        c.poweredMs += powered + codes.length * 10_000;
        c.cycles++;
        for (const code of codes) {
          enter(c.sim, c.device, code);
          c.sim.wait(3000); // the frame closes and the record commits before the next code or the power cut
        }
        c.sim.powerOff();
      };

      for (let day = 0; day < DAYS; day++) {
        for (const [i, c] of customers.entries()) {
          const payments = c.habit === "burst" ? (day % 30 < 4 ? 15 : random(2)) : random(3) === 0 ? 1 : 0;
          for (let k = 0; k < payments; k++) {
            const amount = (1 + random(6)) * 5000 + (random(4) === 0 ? 2500 : 0);
            const p = await pay(i, amount);
            collect(p);
            now += HOUR_MS / 4;
          }
          if (c.habit === "prompt" || c.habit === "burst") typeAll(c, "in");
          if (c.habit === "late" && day % 10 === 9) typeAll(c, "in");
          if (c.habit === "shuffled" && day % 3 === 2) typeAll(c, "shuffled");
        }
        now = Date.UTC(2026, 0, 2 + day);
        for (const p of await fleet.store.releaseHeld()) collect(p);
      }
      // Long enough for every outstanding code to count as entered: held credit is released.
      now += 4 * DAY_MS;
      for (const p of await fleet.store.releaseHeld()) collect(p);
      for (const c of customers) typeAll(c, "in");

      for (const c of customers) {
        const account = await fleet.store.account(c.device.serial);
        expect([c.habit, account.heldDays]).toEqual([c.habit, 0]);
        const seen = verdicts(c.sim.trace);
        expect([c.habit, seen.filter((v) => v === "invalid").length]).toEqual([c.habit, 0]);
        const credit = creditOf(c.sim) as number;
        const owed = (Date.parse(account.paidUntil!) - now) / 1000;
        // What the device may have spent: its powered time, and at most one checkpoint interval (15 min) a power
        // cut. Units round up, never down.
        const bought = account.daysBought * 86400;
        const spent = c.poweredMs / 1000 + c.cycles * 900;
        const fair = c.catchUps === 0 ? credit >= bought - spent && credit <= bought + 86400 : credit >= owed - spent;
        const facts = {
          habit: c.habit,
          credit,
          bought,
          owed,
          spent,
          catchUps: c.catchUps,
          seen: seen.join(",").slice(0, 200),
        };
        expect({ ...facts, fair }).toEqual({ ...facts, fair: true });
      }
      const burst = customers.find((c) => c.habit === "burst")!;
      expect(burst.catchUps).toBeGreaterThan(0);
      expect(burst.held).toBeGreaterThan(0);
      await fleet.store.close();
    });
  },
);
