// Bench: OpenPAYGO Token cost per device verdict (SipHashes, XS compute, XS time) at counts 10, 1,000 and 10,000,
// for a value the device saw recently and for a new one, beside the reference decoder's count + 65 walk; and the
// server's issuing rate. Targets (issue 3): a repeated value at count 10,000 under 100 SipHashes; (issue 7) issuing
// >= 5,000 codes/s at count 1,000 with a repeated value.
import { hexToBytes } from "../../firmware/hex";
import { TokenIssuer, encodeToken } from "../../firmware/protocols/openpaygo/encoder";
import { XsProbe } from "../../hosts/xsnap/engine";
import { prepareVerdict, runVerdict, type Entry } from "../probes/openpaygo.probe";
import { printTable, type Cell } from "./table";

export const name = "openpaygo";

const COUNTS = [10, 1_000, 10_000];

async function verdicts(): Promise<void> {
  const xs = await XsProbe.load("tools/probes/openpaygo.probe.ts");
  const rows: Cell[][] = [];
  try {
    const overhead = (await xs.call<number>("nothing")).compute;
    for (const count of COUNTS) {
      const reference = await xs.call<number>("referenceWalk", count);
      for (const entry of ["repeated", "new", "replayed"] as Entry[]) {
        prepareVerdict(count, entry);
        const hashes = runVerdict();
        await xs.call<number>("prepareVerdict", count, entry);
        const t = process.hrtime.bigint();
        const inXs = await xs.call<number>("runVerdict");
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        if (inXs.result !== hashes) throw new Error(`XS hashed ${inXs.result} times, Node ${hashes}`);
        rows.push([count, entry, hashes, inXs.compute - overhead, ms, reference.result, reference.compute - overhead]);
      }
    }
  } finally {
    await xs.close();
  }
  printTable(
    "OpenPAYGO Token, one device verdict (an add-time entry after the last count)",
    ["last count", "entry", "SipHashes", "XS compute", "XS ms", "reference SipHashes", "reference XS compute"],
    rows,
    [
      "repeated: the value was applied at the last count (an operator's package); new: a value never seen;",
      "replayed: the last token again (a duplicate: the whole window is searched, the worst case of a known value).",
      "reference: the Python/C decoders walk from count 0 to last + 64 (count + 65 SipHashes), same chain code.",
      "Target: repeated value at count 10,000 < 100 SipHashes. XS ms includes one IPC round trip.",
    ],
  );
}

function issuing(): void {
  const key = hexToBytes("bc41ec9530f6dac86b1a29ab82edc5fb");
  const startingCode = 516959010;
  const rate = (issue: (count: number) => void, n: number) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) issue(1000 + 2 * i);
    return n / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const issuer = new TokenIssuer({ key, startingCode });
  const cached = rate((count) => issuer.issue({ count, type: "add_time", value: 30 }), 20_000);
  const oneShot = rate((count) => encodeToken({ key, startingCode, count, type: "add_time", value: 30 }), 200);
  printTable(
    "OpenPAYGO Token issuing on Node, repeated value from count 1,000 (firmware/protocols/openpaygo/encoder.ts)",
    ["issuer", "codes/s"],
    [
      ["TokenIssuer (chain states cached per value)", cached],
      ["encodeToken, no cache (walks from count 0)", oneShot],
    ],
    ["Target (issue 7): >= 5,000 codes/s at count 1,000 with a repeated value."],
  );
}

export async function run(): Promise<void> {
  await verdicts();
  issuing();
}
