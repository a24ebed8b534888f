// The native twin's C core (hosts/moddable/siphash/siphash24.c), built with the machine's cc: the paper's vectors, and
// the TypeScript twin (firmware/crypto/sipwalk.ts) on random keys, messages and chain walks. The XS glue (sipwalk.c)
// only unpacks arguments; it runs in a Moddable build (hosts/moddable/README.md).
import { execFileSync } from "child_process";
import fc from "fast-check";
import fs from "fs";
import os from "os";
import path from "path";
import { sipKey, siphash24 } from "../firmware/crypto/siphash";
import { chainNext, chainWalk, WALK_STATES } from "../firmware/crypto/sipwalk";
import { bytesToHex } from "../firmware/hex";
import type { SipRow } from "../tools/probes/siphash.probe";
import { readVectors } from "./vectors";

const SOURCES = path.join(__dirname, "../hosts/moddable/siphash");
let dir = "";
let driver = "";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-native-"));
  driver = path.join(dir, "check");
  const sources = ["check.c", "siphash24.c"].map((f) => path.join(SOURCES, f));
  try {
    execFileSync("cc", ["-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", driver, ...sources], { stdio: "pipe" });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    throw new Error(err.code === "ENOENT" ? "no C compiler: install cc (gcc or clang)" : String(err.stderr));
  }
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Sends one request per line to the C driver; its answers, one per request. */
function askC(requests: string[]): string[] {
  const out = execFileSync(driver, { input: requests.join("\n") + "\n", encoding: "utf8" });
  return out.trimEnd().split("\n");
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** A chain walk request: a window of up to 80 counts, a token often taken from the window (so it matches). */
const walkRequest = fc
  .record({
    key: bytes(16),
    extended: fc.boolean(),
    code: fc.double({ min: 0, max: 1, noNaN: true }),
    at: fc.integer({ min: 0, max: 40 }),
    skip: fc.integer({ min: 0, max: 20 }),
    span: fc.integer({ min: 0, max: 80 }),
    pick: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    base: fc.integer({ min: 0, max: 999999 }),
  })
  .map((r) => {
    const modulus = r.extended ? 1000000 : 1000;
    const code = Math.floor(r.code * (r.extended ? 999999999999 : 999999999));
    const from = r.at + r.skip;
    const to = from + r.span;
    let token = -1;
    if (r.pick !== undefined) {
      // The state at a count in [at, to], carrying another value's base: a token the walk must find.
      const key = sipKey(r.key);
      let state = code;
      for (let c = r.at; c < r.at + (r.pick % (to - r.at + 1)); c++) state = chainNext(key, state, r.extended);
      token = state - (state % modulus) + (r.base % modulus);
    }
    return { key: r.key, extended: r.extended, code, at: r.at, from, to, token };
  });

describe("native SipHash twin (C core)", () => {
  it("matches every paper vector", () => {
    const rows = readVectors<SipRow>("siphash24.jsonl");
    expect(rows).toHaveLength(64);
    expect(askC(rows.map((r) => `h ${r.key} ${r.message}`))).toEqual(rows.map((r) => r.hash_le));
  });

  it("hashes random keys and messages (0-100 bytes) like the TypeScript", () => {
    const request = fc.record({ key: bytes(16), message: fc.uint8Array({ maxLength: 100 }) });
    fc.assert(
      fc.property(fc.array(request, { minLength: 100, maxLength: 100 }), (requests) => {
        const c = askC(requests.map((r) => `h ${bytesToHex(r.key)} ${bytesToHex(r.message)}`));
        expect(c).toEqual(requests.map((r) => bytesToHex(siphash24(r.key, r.message))));
      }),
      { numRuns: 5 },
    );
  });

  it("steps standard and extended chains like the TypeScript", () => {
    const request = fc.record({
      key: bytes(16),
      extended: fc.boolean(),
      code: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 100, maxLength: 100 }), (requests) => {
        const codes = requests.map((r) => Math.floor(r.code * (r.extended ? 999999999999 : 999999999)));
        const c = askC(requests.map((r, i) => `n ${bytesToHex(r.key)} ${r.extended ? 1 : 0} ${codes[i]}`));
        expect(c.map(Number)).toEqual(requests.map((r, i) => chainNext(sipKey(r.key), codes[i], r.extended)));
      }),
      { numRuns: 5 },
    );
  });

  it("walks chain windows like the TypeScript: the count found and every state left behind", () => {
    fc.assert(
      fc.property(fc.array(walkRequest, { minLength: 40, maxLength: 40 }), (requests) => {
        const c = askC(
          requests.map(
            (r) => `w ${bytesToHex(r.key)} ${r.extended ? 1 : 0} ${r.code} ${r.at} ${r.from} ${r.to} ${r.token}`,
          ),
        );
        const ts = requests.map((r) => {
          const states = new Float64Array(WALK_STATES);
          const found = chainWalk(sipKey(r.key), r.extended, r.code, r.at, r.from, r.to, r.token, states);
          return [found, ...states].join(" ");
        });
        expect(c).toEqual(ts);
      }),
      { numRuns: 5 },
    );
  });

  it("finds a token taken from the window (the walk requests above are not all misses)", () => {
    const key = sipKey(new Uint8Array(16).fill(7));
    let state = 123456789;
    for (let c = 10; c < 30; c++) state = chainNext(key, state, false);
    const token = state - (state % 1000) + 42;
    const [found] = askC([`w ${"07".repeat(16)} 0 123456789 10 20 60 ${token}`])[0].split(" ");
    expect(Number(found)).toBe(30);
  });
});
