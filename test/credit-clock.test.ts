// Issue 21 on the whole device (firmware/main.ts on the simulated board, both boards): power cut at random moments
// while the load runs, and the credit in the journal stays within [paid - used - 60 s x cuts, paid - used].
import { mountedDevice } from "../firmware/ledger/codec";
import { CHIPS } from "../firmware/storage/flash";
import { Journal, journalKey } from "../firmware/storage/journal";
import { NorSim } from "../hosts/node/nor";
import { Random } from "../hosts/node/nor-random";
import { SimDevice } from "../hosts/node/simdevice";
import { encodeCode, initialSeq, secretsOf } from "../fleet/codes";
import { protocolOf } from "../fleet/journal";
import { provisionOne } from "./fleet.helpers";

const PAID_S = 30 * 86_400;
const CUTS = 60;

/** Load-on time in the trace up to `until`, each interval ended by a load-off event or a power cut. */
function loadOnMs(sim: SimDevice, cuts: readonly number[], until: number): number {
  const ends = [...cuts];
  let total = 0;
  let since: number | undefined;
  for (const e of sim.trace) {
    while (ends.length > 0 && ends[0] <= e.t) {
      const cut = ends.shift() as number;
      if (since !== undefined) total += cut - since;
      since = undefined;
    }
    if (e.type !== "load") continue;
    if (e.on && since === undefined) since = e.t;
    if (!e.on && since !== undefined) {
      total += e.t - since;
      since = undefined;
    }
  }
  if (since !== undefined) total += Math.min(ends[0] ?? until, until) - since;
  return total;
}

describe.each(["esp32", "nrf52"] as const)("the credit clock on %s under random power cuts", (board) => {
  it.each([1, 2])(
    "seed %i: after every cut the credit is paid minus the load's time, less at most 60 s per cut",
    (seed) => {
      const { record, image, journal } = provisionOne("nexus-full", board);
      const protocol = protocolOf(record);
      const code = encodeCode(secretsOf(record), { kind: "add", seconds: PAID_S }, initialSeq(record.protocol));
      const sim = new SimDevice({ provision: image, journal });
      const random = new Random(seed);
      sim.powerOn();
      sim.type(code.keycode);
      expect(sim.trace.filter((e) => e.type === "feedback").map((e) => e.type === "feedback" && e.pattern)).toContain(
        "applied",
      );
      const cuts: number[] = [];
      let lost = 0;
      const chip = CHIPS[board];
      for (let k = 1; k <= CUTS; k++) {
        // A flickering connector (seconds), a short use, or an evening (hours), then off for a while.
        const kind = random.below(3);
        const on = kind === 0 ? random.between(1, 59) * 1000 : random.between(61, kind === 1 ? 600 : 10_800) * 1000;
        sim.wait(on + random.below(1000));
        cuts.push(sim.now);
        sim.powerOff();
        const bytes = sim.images().journal;
        const flash = new NorSim({
          chip,
          blocks: bytes.length / chip.blockLength,
          image: {
            bytes,
            unstable: new Uint8Array(bytes.length),
            wordWrites: new Uint8Array(bytes.length / chip.writeAlignment),
            blockErases: new Uint32Array(bytes.length / chip.blockLength),
          },
        });
        const device = mountedDevice(
          protocol,
          Journal.mount(flash, { key: journalKey(record.key), otp: sim.otp }).mounted,
        );
        const creditMs =
          device?.payg.kind === "metered" ? (device.payg.creditSeconds + device.payg.testSeconds) * 1000 : -1;
        const left = PAID_S * 1000 - loadOnMs(sim, cuts, sim.now);
        const id = `board=${board} seed=${seed} cut=${k} credit=${creditMs} left=${left}`;
        expect([id, creditMs <= left]).toEqual([id, true]);
        expect([id, creditMs >= left - 60_000 * k]).toEqual([id, true]);
        // And each cut on its own: the running minute at most.
        expect([id, left - creditMs - lost <= 60_000]).toEqual([id, true]);
        lost = left - creditMs;
        sim.wait(random.between(1, 36_000) * 1000);
        sim.powerOn();
      }
      // The load ran for real between the cuts: this is not a device that stayed locked or settling.
      expect(loadOnMs(sim, cuts, sim.now)).toBeGreaterThan(10 * 3_600_000);
    },
  );
});
