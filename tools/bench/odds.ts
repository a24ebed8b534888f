// Bench: the keypad attacker's 10-year odds (issue 11), simulated against the real protocols and ledger
// (tools/bench/attacker.ts) on a virtual clock. Each device gets a random key; the attacker plays the worst schedule of
// docs/SECURITY.md and enumerates distinct candidates for one code, and wins when the device applies one.
import { hexToBytes } from "../../firmware/hex";
import { fullDigits, obscureFull, MAC_DIGITS, OBSCURED_DIGITS } from "../../firmware/protocols/nexus/full";
import { nexusFull } from "../../firmware/protocols/nexus/full_device";
import { NexusHasher } from "../../firmware/protocols/nexus/hash";
import { smallEntry, smallPad, smallSymbols, SMALL_KEYS } from "../../firmware/protocols/nexus/small";
import { nexusSmall } from "../../firmware/protocols/nexus/small_device";
import { TokenIssuer } from "../../firmware/protocols/openpaygo/encoder";
import { openPaygo } from "../../firmware/protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "../../firmware/protocols/protocol";
import { Random } from "../../hosts/node/nor-random";
import { attack, type Strategy } from "./attacker";
import { printTable } from "./table";

export const name = "odds";

const DAY_MS = 86_400_000;
const YEARS = 10;
const UPTIME_MS = YEARS * 365.25 * DAY_MS;
const DEVICE_ID = 12345678;
const STARTING_CODE = 123456789;
/** A key no device has: the encoders make well-formed codes under it, whose header the attacker keeps. */
const OTHER_KEY = hexToBytes("00000000000000000000000000000001");
/** OpenPAYGO: chain codes from 926,258,175 up come out twice as often (the fold; docs/SECURITY.md). */
const FOLDED_PREFIX = 926_259;

interface _Case {
  readonly protocol: string;
  readonly strategy: string;
  readonly devices: number;
  /** Probability that one fresh guess is accepted, for the bound beside the measured rate. */
  readonly perGuess: number;
  /** The README's figure (docs/SECURITY.md table) and the issue's goal, in %. */
  readonly readme: string;
  readonly goal: number;
  run(random: Random): { guesses: number; won: boolean };
}

/** Full keypad: one add-credit header, its 10^6 MACs tried in a random order without repeats. */
function fullGuesses(random: Random): () => string {
  const h = new NexusHasher();
  const template = fullDigits({ type: "add_credit", key: OTHER_KEY, id: 40, hours: 1 });
  const plain = Uint8Array.from(template.slice(0, OBSCURED_DIGITS), (c) => c.charCodeAt(0) - 48);
  obscureFull(h, plain, Number(template.slice(OBSCURED_DIGITS)), -1);
  const macs = _permutation(10 ** MAC_DIGITS, random);
  let i = 0;
  return () => {
    const mac = macs(i++);
    const digits = plain.slice();
    obscureFull(h, digits, mac, 1);
    return `${digits.join("")}${String(mac).padStart(MAC_DIGITS, "0")}`;
  };
}

/** Small keypad: one add-credit header, its 4,096 MACs tried in a random order without repeats. */
function smallGuesses(random: Random): () => string {
  const h = new NexusHasher();
  let bits = 0;
  for (const c of smallSymbols({ type: "add_credit", key: OTHER_KEY, id: 40, days: 1 }))
    bits = (bits << 2) | SMALL_KEYS.indexOf(c);
  const mac = bits & 0xfff;
  const header = (bits >>> 12) ^ smallPad(h, mac);
  const macs = _permutation(4096, random);
  let i = 0;
  return () => smallEntry(h, header, macs(i++));
}

/** OpenPAYGO: 6 checked digits in the doubled (folded) range, any 3 value digits. */
function opaygoGuesses(random: Random): () => string {
  return () => {
    const prefix = FOLDED_PREFIX + random.below(1_000_000 - FOLDED_PREFIX);
    return `${prefix}${String(random.below(1000)).padStart(3, "0")}`;
  };
}

/** A random order of 0..n-1 without repeats (a Fisher-Yates shuffle drawn as it goes). */
function _permutation(n: number, random: Random): (i: number) => number {
  const swapped = new Map<number, number>();
  return (i) => {
    const j = i + random.below(n - i);
    const at = (k: number) => swapped.get(k) ?? k;
    const value = at(j);
    swapped.set(j, at(i));
    return value;
  };
}

function _key(random: Random): Uint8Array {
  return Uint8Array.from({ length: 16 }, () => random.below(256));
}

/** The random in [0, 1) that attack() places its cuts with. */
function _unit(random: Random): () => number {
  return () => random.next() / 2 ** 32;
}

const CASES: readonly _Case[] = [
  {
    protocol: "Nexus full",
    strategy: "passthrough + ID confirmation after each guess, a code bought a day, cuts",
    devices: 100,
    perGuess: 1e-6,
    readme: "0.066",
    goal: 1,
    run(random) {
      const key = _key(random);
      const protocol = nexusFull({ key, deviceId: DEVICE_ID });
      const open = [
        fullDigits({ type: "passthrough", digits: "1234" }),
        fullDigits({ type: "device_id_confirmation", deviceId: DEVICE_ID }),
      ];
      let id = 24;
      let n = 0;
      const strategy: Strategy = {
        between: () => open[n++ % open.length],
        buy: { everyMs: DAY_MS, next: () => fullDigits({ type: "add_credit", key, id: id++, hours: 1 }) },
        cuts: true,
      };
      return attack(protocol as KeycodeProtocol<unknown>, fullGuesses(random), strategy, UPTIME_MS, _unit(random));
    },
  },
  {
    protocol: "Nexus small",
    strategy: "the known wipe-credit code after each guess, cuts",
    devices: 400,
    perGuess: 2 ** -12,
    readme: "14.8",
    goal: 25,
    run(random) {
      const key = _key(random);
      const wipe = smallSymbols({ type: "wipe_credit", key });
      const strategy: Strategy = { between: () => wipe, cuts: true };
      return attack(
        nexusSmall({ key }) as KeycodeProtocol<unknown>,
        smallGuesses(random),
        strategy,
        UPTIME_MS,
        _unit(random),
      );
    },
  },
  {
    protocol: "OpenPAYGO",
    strategy: "guesses in the folded range, a code bought a day, cuts",
    devices: 60,
    // 64 newer counts and at most 8 older add-time counts, each 2,000 / 2^30 (docs/SECURITY.md)
    perGuess: (72 * 2000) / 2 ** 30,
    readme: "8.4",
    goal: 10,
    run(random) {
      const key = _key(random);
      const issuer = new TokenIssuer({ key, startingCode: STARTING_CODE });
      let count = 1;
      const buy = {
        everyMs: DAY_MS,
        next() {
          const issued = issuer.issue({ count, type: "add_time" as const, value: 1 });
          count = issued.count;
          return issued.token;
        },
      };
      const protocol = openPaygo({ key, startingCode: STARTING_CODE, timeDivider: 1, restricted: false });
      const strategy: Strategy = { buy, cuts: true };
      return attack(protocol as KeycodeProtocol<unknown>, opaygoGuesses(random), strategy, UPTIME_MS, _unit(random));
    },
  },
];

/** Wilson score interval at 95 % for `wins` of `n`, in %. */
function _wilson(wins: number, n: number): [number, number] {
  const z = 1.96;
  const p = wins / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [100 * Math.max(0, centre - half), 100 * Math.min(1, centre + half)];
}

export async function run(): Promise<void> {
  const rows = [];
  for (const c of CASES) {
    const random = new Random(11);
    let wins = 0;
    let most = 0;
    let fewest = Infinity;
    let total = 0;
    for (let d = 0; d < c.devices; d++) {
      const result = c.run(random);
      if (result.won) wins++;
      most = Math.max(most, result.guesses);
      fewest = Math.min(fewest, result.guesses);
      total += result.guesses;
    }
    const [low, high] = _wilson(wins, c.devices);
    // A device that won stopped early, so the bound takes the most guesses any device got to evaluate.
    const bound = 100 * Math.min(1, most * c.perGuess);
    rows.push([
      c.protocol,
      c.devices,
      `${fewest}-${most}`,
      Math.round(total / c.devices),
      `${wins}`,
      `${((100 * wins) / c.devices).toFixed(1)} (${low.toFixed(1)}-${high.toFixed(1)})`,
      bound < 1 ? bound.toFixed(3) : bound.toFixed(1),
      c.readme,
      c.goal,
    ]);
  }
  printTable(
    `Keypad attacker, ${YEARS} years of powered uptime per device (virtual clock), worst schedule, real ledger`,
    ["protocol", "devices", "guesses/device", "mean", "wins", "won % (95 % CI)", "bound %", "README %", "goal %"],
    rows,
    [
      ...CASES.map((c) => `${c.protocol}: ${c.strategy}`),
      "guesses: well-formed entries the device verified and refused; bound: most guesses x p per guess (union bound)",
      "the attacker enumerates distinct candidates for one code (Nexus: one header's MACs without repeats)",
    ],
  );
}
