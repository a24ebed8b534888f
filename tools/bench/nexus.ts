// Bench: Nexus Keycode cost per device verdict (SipHashes counted under Node, XS compute and time), full and small
// keypads, for new, duplicate and random entries. Expected (issue 4): 2 SipHashes per verdict (pad + MAC); the
// optional extended small message costs up to 16 more.
import * as siphash from "../../firmware/crypto/siphash";
import { hexToBytes } from "../../firmware/hex";
import { fullDigits } from "../../firmware/protocols/nexus/full";
import { NexusHasher } from "../../firmware/protocols/nexus/hash";
import { smallEntry, smallSymbols } from "../../firmware/protocols/nexus/small";
import { XsProbe } from "../../hosts/xsnap/engine";
import { verifyEntries } from "../probes/nexus.probe";
import { printTable, type Cell } from "./table";

export const name = "nexus";

const KEY_HEX = "c4b84048cf0424a25dc5e9d3f0674036";
const N = 200;

type Protocol = "nexus-full" | "nexus-small";
interface Case {
  readonly protocol: Protocol;
  readonly entry: string;
  readonly entries: string[];
  readonly extended?: boolean;
}

/** Reproducible pseudo-random integers (xorshift32). */
function xorshift(seed: number): () => number {
  let s = seed | 0;
  return () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
}

function cases(): Case[] {
  const key = hexToBytes(KEY_HEX);
  const ids = Array.from({ length: N }, (_, i) => 24 + i); // in issue order: every one applies
  const full = ids.map((id) => fullDigits({ type: "add_credit", key, id, hours: 24 }));
  const small = ids.map((id) => smallSymbols({ type: "add_credit", key, id, days: 1 }));
  const next = xorshift(0x2545f491);
  const randomFull = Array.from({ length: N }, () => Array.from({ length: 14 }, () => next() % 10).join(""));
  const randomSmall = Array.from({ length: N }, () => Array.from({ length: 14 }, () => "2345"[next() & 3]).join(""));
  const h = new NexusHasher();
  // Extended-shaped guesses: [1][000][id mod 4][type 01][increment], random MAC: the search's worst case.
  const guesses = Array.from({ length: N }, () => {
    const r = next();
    return smallEntry(h, ((0x20 | (r & 3)) << 10) | (1 << 8) | ((r >>> 2) % 240), (r >>> 12) & 0xfff);
  });
  return [
    { protocol: "nexus-full", entry: "new add credit", entries: full },
    { protocol: "nexus-full", entry: "duplicate", entries: full.map(() => full[0]) },
    { protocol: "nexus-full", entry: "random 14 digits", entries: randomFull },
    {
      protocol: "nexus-full",
      entry: "allow test (factory)",
      entries: full.map(() => fullDigits({ type: "allow_test" })),
    },
    { protocol: "nexus-small", entry: "new add credit", entries: small },
    { protocol: "nexus-small", entry: "duplicate", entries: small.map(() => small[0]) },
    { protocol: "nexus-small", entry: "random 14 symbols", entries: randomSmall },
    { protocol: "nexus-small", entry: "extended guess (option off)", entries: guesses },
    { protocol: "nexus-small", entry: "extended guess (option on)", entries: guesses, extended: true },
  ];
}

/** SipHashes per entry under Node: siphashWords is wrapped with a counter for the duration of the call. */
function countHashes(c: Case): number {
  const module = siphash as { siphashWords: typeof siphash.siphashWords };
  const original = module.siphashWords;
  let count = 0;
  module.siphashWords = (...args) => (count++, original(...args));
  try {
    verifyEntries(c.protocol, KEY_HEX, c.entries, c.extended);
  } finally {
    module.siphashWords = original;
  }
  return count / c.entries.length;
}

export async function run(): Promise<void> {
  const rows: Cell[][] = [];
  const xs = await XsProbe.load("tools/probes/nexus.probe.ts");
  try {
    for (const c of cases()) {
      const base = (await xs.call("verifyEntries", c.protocol, KEY_HEX, [], c.extended)).compute;
      const t = process.hrtime.bigint();
      const { result, compute } = await xs.call("verifyEntries", c.protocol, KEY_HEX, c.entries, c.extended);
      const us = Number(process.hrtime.bigint() - t) / 1e3 / c.entries.length;
      const node = verifyEntries(c.protocol, KEY_HEX, c.entries, c.extended);
      if (JSON.stringify(result) !== JSON.stringify(node)) throw new Error(`XS and Node disagree on ${c.entry}`);
      const verdicts = Object.entries(node)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${n} ${kind}`)
        .join(", ");
      rows.push([c.protocol, c.entry, countHashes(c), (compute - base) / c.entries.length, us, verdicts]);
    }
  } finally {
    await xs.close();
  }
  printTable(
    `Nexus Keycode, one device verdict (mean over ${N} entries; firmware/protocols/nexus/*_device.ts)`,
    ["protocol", "entry", "SipHashes", "XS compute", "XS us", "verdicts"],
    rows,
    [
      "Expected: 2 SipHashes per verdict (the obscuring pad, then the MAC); factory codes are not obscured (1).",
      "Random entries that fail before the MAC (type > 3, ID digits > 63, bad key) stop after the pad.",
      "The extended small message (off by default) tries each of 16 window IDs: up to 17 SipHashes.",
      "XS compute excludes the call and the device set-up; XS us includes one IPC round trip / entries.",
    ],
  );
}
