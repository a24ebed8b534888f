// Device outputs and flash adapter on the simulated board: feedback rhythms as specified, load polarity, and the
// journal's NOR interface over Moddable's flash module.
import { TEST_JOURNAL } from "./journal.helpers";
import Digital from "../hosts/node/digital";
import Flash from "../hosts/node/flash";
import { SimWorld, useWorld } from "../hosts/node/simworld";
import { CREDIT_BLINKS_MAX, FeedbackPlayer, patternFor } from "../firmware/io/feedback";
import { LoadSwitch } from "../firmware/io/load";
import { ModdableNor } from "../firmware/io/norflash";
import { ESP32, NRF52 } from "../firmware/storage/flash";
import { Journal } from "../firmware/storage/journal";
import { FIXED_FEEDBACK_NAMES } from "./feedback-names";

const LED = 2;
const BUZZER = 22;

/** A player on a fresh board, and the LED's and buzzer's level changes as [ms, level] pairs. */
function rig() {
  const world = useWorld(new SimWorld());
  const writes: Record<number, Array<[number, number]>> = { [LED]: [], [BUZZER]: [] };
  world.pins.onWrite = (pin, level) => {
    const log = writes[pin];
    if (log && (log.length === 0 || log[log.length - 1][1] !== level)) log.push([world.clock.now, level]);
  };
  const led = new Digital({ pin: LED, mode: Digital.Output });
  const buzzer = new Digital({ pin: BUZZER, mode: Digital.Output });
  const player = new FeedbackPlayer({ led: led as never, buzzer: buzzer as never });
  return { world, writes, player };
}

/** Durations between level changes after the first, alternately on and off. */
const rhythm = (changes: Array<[number, number]>) => changes.slice(1).map(([t], i) => t - changes[i][0]);

describe("feedback", () => {
  it.each(FIXED_FEEDBACK_NAMES)("plays %s on the LED exactly as its pattern says", (name) => {
    const { world, writes, player } = rig();
    const pattern = patternFor(name);
    player.play(pattern);
    const total = pattern.steps.reduce((a, b) => a + b, 0);
    world.clock.advance(pattern.repeat ? 2 * total : total + 10);
    const expected = pattern.repeat ? [...pattern.steps, ...pattern.steps] : pattern.steps;
    // Level changes: off (construction), then on/off per step; a one-shot's last step (off) shows as no change.
    const seen = rhythm(writes[LED].slice(1));
    expect(seen).toEqual(expected.slice(0, seen.length));
    expect(seen.length).toBeGreaterThanOrEqual(expected.length - 1);
    expect(player.busy).toBe(pattern.repeat);
    expect(writes[BUZZER].length > 1).toBe(pattern.buzz);
  });

  it("gives every outcome its own rhythm", () => {
    const rhythms = FIXED_FEEDBACK_NAMES.map((n) => JSON.stringify(patternFor(n).steps));
    expect(new Set(rhythms).size).toBe(FIXED_FEEDBACK_NAMES.length);
  });

  it("cuts a pattern short for a newer one, and stop() leaves the LED off", () => {
    const { world, writes, player } = rig();
    player.play(patternFor("not_provisioned"));
    world.clock.advance(150);
    player.play(patternFor("applied"));
    world.clock.advance(1000);
    expect(world.pins.driven(LED)).toBe(1);
    player.stop();
    expect(world.pins.driven(LED)).toBe(0);
    world.clock.advance(10_000);
    expect(writes[LED].at(-1)).toEqual([1150, 0]);
  });

  it("returns to the background pattern (a lasting condition) after a one-shot one", () => {
    const { world, player } = rig();
    player.background(patternFor("fault"));
    world.clock.advance(500);
    player.play(patternFor("rejected"));
    world.clock.advance(200); // rejected: 2 x (40 on, 60 off)
    expect(player.busy).toBe(true);
    world.clock.advance(500); // 200 ms into the fault rhythm's 1000 ms on
    expect(world.pins.driven(LED)).toBe(1);
    world.clock.advance(1000);
    expect(world.pins.driven(LED)).toBe(0);
    player.background(undefined);
    expect(player.busy).toBe(false);
  });

  it("blinks an id digit by digit, zero as ten, with a long gap between digits", () => {
    const steps = patternFor("display_id", 102).steps;
    const blinks = steps.filter((_, i) => i % 2 === 0).length;
    expect(blinks).toBe(1 + 10 + 2);
    expect(steps.filter((s) => s === 1200)).toHaveLength(3);
  });

  it("blinks one per started day of credit, at most a month, and glows for unlocked", () => {
    expect(patternFor("credit", 0).steps).toEqual([]);
    expect(patternFor("credit", 2.1).steps).toHaveLength(2 * 3);
    expect(patternFor("credit", 400).steps).toHaveLength(2 * CREDIT_BLINKS_MAX);
    expect(patternFor("credit", Infinity).steps).toEqual([3000, 200]);
  });
});

describe("load switch", () => {
  it.each([1, 0] as const)("is off from construction and follows set(), active level %i", (active) => {
    const world = useWorld(new SimWorld());
    const levels: number[] = [];
    world.pins.onWrite = (_pin, level) => levels.push(level);
    const load = new LoadSwitch({
      output: new Digital({ pin: 23, mode: Digital.Output }) as never,
      activeLevel: active,
    });
    expect(levels).toEqual([1 - active]);
    load.set(true);
    expect(world.pins.driven(23)).toBe(active);
    expect(load.isOn).toBe(true);
    load.set(false);
    expect(world.pins.driven(23)).toBe(1 - active);
  });
});

describe("ModdableNor", () => {
  function nor(blocks = 4, chip = ESP32) {
    const world = useWorld(new SimWorld());
    world.addPartition("solkey_jrnl", 0x3f0000, blocks * 4096);
    return { world, nor: new ModdableNor(new Flash("solkey_jrnl") as never, chip) };
  }

  it("reports the partition as blocks of the chip's profile", () => {
    expect(nor(4).nor.status()).toEqual({ ...ESP32, blocks: 4, size: 4 * 4096 });
    expect(nor(2, NRF52).nor.status()).toMatchObject({ blocks: 2, maxWritesPerWord: 2, eraseCycles: 10_000 });
  });

  it("refuses a write that is not word-aligned", () => {
    const { nor: flash } = nor();
    expect(() => flash.write(new Uint8Array(3), 0)).toThrow(RangeError);
    expect(() => flash.write(new Uint8Array(4), 2)).toThrow(RangeError);
  });

  it("refuses a partition whose block size is not the chip's", () => {
    const world = useWorld(new SimWorld());
    world.addPartition("odd", 0, 8192, undefined, 2048);
    expect(() => new ModdableNor(new Flash("odd") as never, ESP32)).toThrow(/"blockSize" expected 4096, got 2048/);
  });

  it("carries the journal: a record appended is there at the next mount, in the partition's bytes", () => {
    const { world, nor: flash } = nor();
    const journal = Journal.mount(flash, TEST_JOURNAL);
    expect(journal.mounted.kind).toBe("fresh");
    journal.append(new Uint8Array([1, 2, 3, 4, 5]));
    expect(Journal.mount(flash, TEST_JOURNAL).mounted).toMatchObject({
      kind: "record",
      payload: new Uint8Array([1, 2, 3, 4, 5]),
    });
    expect(world.partitions.get("solkey_jrnl")?.bytes[0]).toBe(0x4a); // the record's magic, at the partition start
  });
});
