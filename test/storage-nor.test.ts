// The NOR simulator (hosts/node/nor.ts): NOR rules in strict mode, counters, the five tear models, weak bits,
// and the file-backed mode (hosts/node/nor-file.ts).
import { TEST_JOURNAL } from "./journal.helpers";
import fs from "fs";
import os from "os";
import path from "path";
import { ESP32, NRF52 } from "../firmware/storage/flash";
import { Journal } from "../firmware/storage/journal";
import { NorSim, PowerCut, TEARS, type Tear } from "../hosts/node/nor";
import { openNorDirectory } from "../hosts/node/nor-file";

const read = (flash: NorSim, length: number, offset: number) => [...new Uint8Array(flash.read(length, offset))];
const ones = (bytes: number[]) => bytes.reduce((n, b) => n + b.toString(2).replace(/0/g, "").length, 0);

describe("NOR rules", () => {
  it("starts erased, programs by clearing bits, and erases a block back to 0xFF", () => {
    const flash = new NorSim({ chip: ESP32, blocks: 2 });
    expect(read(flash, 4, 4096)).toEqual([0xff, 0xff, 0xff, 0xff]);
    flash.write(Uint8Array.of(0xf0, 0x0f, 0xff, 0x00), 4096);
    flash.write(Uint8Array.of(0xc0, 0x0f, 0xff, 0x00), 4096); // ESP32: a second write of a word is allowed
    expect(read(flash, 4, 4096)).toEqual([0xc0, 0x0f, 0xff, 0x00]);
    flash.eraseBlock(1);
    expect(read(flash, 4, 4096)).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(flash.counters).toEqual({ programs: 2, erases: 1, bytesProgrammed: 8, external: 0 });
    expect([...flash.image.blockErases]).toEqual([0, 1]);
  });

  it("refuses a misaligned write", () => {
    const flash = new NorSim({ chip: NRF52, blocks: 2 });
    expect(() => flash.write(Uint8Array.of(0, 0, 0, 0), 2)).toThrow(/not aligned to 4-byte words/);
    expect(() => flash.write(Uint8Array.of(0, 0), 0)).toThrow(/not aligned to 4-byte words/);
    expect(flash.mutations).toBe(0);
  });

  it("refuses to write a 1 over a programmed 0 (NOR cannot set bits)", () => {
    const flash = new NorSim({ chip: ESP32, blocks: 2 });
    flash.write(Uint8Array.of(0xfe, 0xff, 0xff, 0xff), 0);
    expect(() => flash.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0)).toThrow(/1 over a programmed 0/);
  });

  it("refuses a third write of a word between erases on nRF52", () => {
    const flash = new NorSim({ chip: NRF52, blocks: 2 });
    flash.write(Uint8Array.of(0xff, 0xff, 0xff, 0xfe), 8);
    flash.write(Uint8Array.of(0xff, 0xff, 0xff, 0xfc), 8);
    expect(() => flash.write(Uint8Array.of(0xff, 0xff, 0xff, 0xf8), 8)).toThrow(/written more than 2 times/);
    flash.eraseBlock(0);
    expect(() => flash.write(Uint8Array.of(0, 0, 0, 0), 8)).not.toThrow();
  });

  it("in lenient mode, ANDs what is written like real NOR", () => {
    const flash = new NorSim({ chip: NRF52, blocks: 2, strict: false });
    flash.write(Uint8Array.of(0x0f), 1);
    flash.write(Uint8Array.of(0xf1), 1);
    expect(read(flash, 1, 1)).toEqual([0x01]);
  });

  it("refuses an erase of a block that does not exist", () => {
    const flash = new NorSim({ chip: NRF52, blocks: 2 });
    expect(() => flash.eraseBlock(2)).toThrow(new RangeError(`"block" expected 0..1, got 2`));
  });
});

describe("power cuts", () => {
  const target = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xfe);
  const changing = ones([...target].map((b) => ~b & 0xff));

  /** A program of `target` over erased flash, cut with `tear`; returns what reads back (twice). */
  function tornProgram(tear: Tear, seed = 3): { first: number[]; second: number[]; flash: NorSim } {
    const flash = new NorSim({ chip: NRF52, blocks: 2, seed });
    flash.cut(1, tear);
    expect(() => flash.write(target, 64)).toThrow(PowerCut);
    flash.powerOn();
    return { first: read(flash, 64, 64), second: read(flash, 64, 64), flash };
  }

  const cleared = (bytes: number[]) => ones(bytes.map((b) => ~b & 0xff));

  it("none: nothing is written", () => {
    expect(cleared(tornProgram("none").first)).toBe(0);
  });

  it("prefix: bytes before a point are written, the rest untouched", () => {
    const { first } = tornProgram("prefix");
    const point = first.findIndex((b, i) => b !== target[i]);
    expect(point).toBeGreaterThanOrEqual(0);
    expect(first.slice(point).every((b) => b === 0xff)).toBe(true);
  });

  it("subset: only bits the write meant to clear are cleared, some but not all", () => {
    const { first } = tornProgram("subset");
    expect(first.every((b, i) => (b & target[i]) === target[i])).toBe(true);
    expect(cleared(first)).toBeGreaterThan(0);
    expect(cleared(first)).toBeLessThan(changing);
  });

  it("allbutone: every changing bit but one", () => {
    expect(cleared(tornProgram("allbutone").first)).toBe(changing - 1);
  });

  it("half: the changing bits are weak and read differently from one read to the next", () => {
    const { first, second, flash } = tornProgram("half");
    expect(first).not.toEqual(second);
    expect(first.every((b, i) => (b & target[i]) === target[i])).toBe(true);
    // Programming the weak bits to 0 makes them stable; an erase clears every weak bit.
    flash.eraseBlock(0);
    expect(read(flash, 64, 64)).toEqual(new Array(64).fill(0xff));
  });

  it.each(TEARS)("a torn erase (%s) changes only the block being erased, and only towards 1", (tear) => {
    const flash = new NorSim({ chip: NRF52, blocks: 2, seed: 9 });
    flash.write(new Uint8Array(4096), 0);
    flash.write(new Uint8Array(4096), 4096);
    flash.cut(1, tear);
    expect(() => flash.eraseBlock(1)).toThrow(PowerCut);
    flash.powerOn();
    expect(read(flash, 4096, 0).every((b) => b === 0)).toBe(true);
    const block = read(flash, 4096, 4096);
    if (tear === "none") expect(block.every((b) => b === 0)).toBe(true);
    else if (tear === "allbutone") expect(ones(block)).toBe(4096 * 8 - 1);
    else expect(ones(block)).toBeGreaterThan(0);
  });

  it("cuts the k-th mutation from now, and nothing runs until power is back", () => {
    const flash = new NorSim({ chip: NRF52, blocks: 2 });
    flash.cut(3, "none");
    flash.write(new Uint8Array(4), 0);
    flash.eraseBlock(1);
    expect(() => flash.write(new Uint8Array(4), 4)).toThrow(PowerCut);
    expect(() => flash.write(new Uint8Array(4), 8)).toThrow(/unpowered/);
    flash.powerOn();
    flash.write(new Uint8Array(4), 8);
    expect(flash.mutations).toBe(4);
  });

  it("gives the same tear for the same seed (a failure id reproduces it)", () => {
    expect(tornProgram("subset", 42).first).toEqual(tornProgram("subset", 42).first);
    expect(tornProgram("subset", 42).first).not.toEqual(tornProgram("subset", 43).first);
  });
});

describe("file-backed mode", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-nor-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps the journal, wear and write counts across processes (reopen)", () => {
    const first = openNorDirectory(dir, { chip: NRF52, blocks: 2 });
    const journal = Journal.mount(first, TEST_JOURNAL);
    for (let i = 0; i < 100; i++) journal.append(Uint8Array.of(i, i, i));
    const again = openNorDirectory(dir, { chip: NRF52, blocks: 2 });
    expect(Journal.mount(again, TEST_JOURNAL).mounted).toEqual({
      kind: "record",
      payload: Uint8Array.of(99, 99, 99),
      sequence: 100,
      minutes: 0,
    });
    expect(again.counters).toEqual(first.counters);
    expect([...again.image.blockErases]).toEqual([...first.image.blockErases]);
    expect([...again.image.wordWrites]).toEqual([...first.image.wordWrites]);
  });

  it("saves what a power cut left", () => {
    const flash = openNorDirectory(dir, { chip: NRF52, blocks: 2, seed: 4 });
    flash.cut(1, "half");
    expect(() => flash.write(new Uint8Array(8), 0)).toThrow(PowerCut);
    const again = openNorDirectory(dir, { chip: NRF52, blocks: 2 });
    expect(again.image.unstable.slice(0, 8).every((b) => b === 0xff)).toBe(true);
  });

  it("refuses a directory that holds a flash of another shape, naming the fix", () => {
    openNorDirectory(dir, { chip: NRF52, blocks: 2 });
    expect(() => openNorDirectory(dir, { chip: NRF52, blocks: 4 })).toThrow(/use another directory or delete it/);
  });
});
