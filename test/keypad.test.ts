// Keypad scanning and debounce on the simulated board: matrix (ECMA-419 DigitalBank rows x columns) and buttons.
import fc from "fast-check";
import { ButtonKeypad, MatrixKeypad, SCAN_MS, STABLE_SAMPLES, type Keypad } from "../firmware/io/keypad";
import { Finger, type KeyWiring } from "../hosts/node/simkeys";
import { SimWorld, useWorld } from "../hosts/node/simworld";

const MATRIX: KeyWiring = { kind: "matrix", rows: [12, 13, 14, 15], columns: [25, 26, 27], keys: "123456789*0#" };
const BUTTONS: KeyWiring = { kind: "buttons", pins: [4, 5, 18, 19, 21], keys: "12345" };

function rig(wiring: KeyWiring): { world: SimWorld; finger: Finger; keypad: Keypad; typed: string[] } {
  const world = useWorld(new SimWorld());
  const typed: string[] = [];
  const onReadable = function (this: Keypad) {
    for (let key = this.read(); key !== undefined; key = this.read()) typed.push(key);
  };
  const keypad =
    wiring.kind === "matrix"
      ? new MatrixKeypad({ rows: wiring.rows, columns: wiring.columns, keys: wiring.keys, onReadable })
      : new ButtonKeypad({ pins: wiring.pins, keys: wiring.keys, onReadable });
  return { world, finger: new Finger(world, wiring), keypad, typed };
}

describe.each([
  ["matrix", MATRIX],
  ["buttons", BUTTONS],
])("%s keypad", (_name, wiring) => {
  it("reads every key once, in order", () => {
    const { finger, typed } = rig(wiring);
    for (const key of wiring.keys) finger.press(key);
    expect(typed.join("")).toBe(wiring.keys);
  });

  it("reads a bouncing key once (property: any bounce count, any hold past the debounce time)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: wiring.keys.length - 1 }), fc.integer({ min: 0, max: 8 }))),
        fc.integer({ min: SCAN_MS * (STABLE_SAMPLES + 2), max: 400 }),
        (presses, holdMs) => {
          const { finger, typed } = rig(wiring);
          for (const [i, bounces] of presses) finger.press(wiring.keys[i], holdMs, 60, bounces);
          expect(typed.join("")).toBe(presses.map(([i]) => wiring.keys[i]).join(""));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("ignores a glitch shorter than the debounce time", () => {
    const { finger, typed } = rig(wiring);
    finger.press(wiring.keys[0], SCAN_MS * (STABLE_SAMPLES - 2), 100);
    expect(typed).toEqual([]);
  });

  it("reads a held key once, not as a repeat", () => {
    const { finger, typed } = rig(wiring);
    finger.press(wiring.keys[1], 5000, 100);
    expect(typed).toEqual([wiring.keys[1]]);
  });

  it("reads no key while two are held, and the next press after", () => {
    const { world, finger, typed } = rig(wiring);
    finger.down(wiring.keys[0]);
    finger.down(wiring.keys[2]);
    world.clock.advance(200);
    finger.up(wiring.keys[0]);
    finger.up(wiring.keys[2]);
    world.clock.advance(100);
    finger.press(wiring.keys[3]);
    expect(typed).toEqual([wiring.keys[3]]);
  });

  it("sleeps between presses: no timer left once every key is up", () => {
    const { world, finger } = rig(wiring);
    finger.press(wiring.keys[0]);
    expect(world.clock.nextDue()).toBeUndefined();
  });

  it("stops reading and frees its pins on close, and close twice is harmless", () => {
    const { world, finger, keypad, typed } = rig(wiring);
    keypad.close();
    keypad.close();
    finger.press(wiring.keys[0]);
    expect(typed).toEqual([]);
    const pins = wiring.kind === "matrix" ? [...wiring.rows, ...wiring.columns] : wiring.pins;
    for (const pin of pins) expect(() => world.pins.claim(pin, 0)).not.toThrow();
  });
});

describe("keypad options", () => {
  beforeEach(() => useWorld(new SimWorld()));

  it("rejects a key map that does not fit the matrix", () => {
    expect(() => new MatrixKeypad({ rows: [1, 2], columns: [3, 4], keys: "123" })).toThrow(
      new RangeError(`"keys" expected 4 characters, got 3`),
    );
  });

  it("rejects pins spread over two banks, and frees what it opened", () => {
    expect(() => new MatrixKeypad({ rows: [1, 2], columns: [3, 33], keys: "1234" })).toThrow(RangeError);
    expect(() => new ButtonKeypad({ pins: [1, 2], keys: "12" })).not.toThrow();
  });

  it("frees the rows when the columns cannot be opened", () => {
    const world = useWorld(new SimWorld());
    world.pins.claim(3, 0);
    expect(() => new MatrixKeypad({ rows: [1, 2], columns: [3, 4], keys: "1234" })).toThrow(/in use/);
    expect(() => world.pins.claim(1, 0)).not.toThrow();
  });
});
