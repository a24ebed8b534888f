// `npm run bench [-- SECTION...]`: prints the benchmark tables. Targets are met here, never in timed tests.
import * as issuing from "./issuing";
import * as nexus from "./nexus";
import * as openpaygo from "./openpaygo";
import * as siphash from "./siphash";
import * as sms from "./sms";
import * as device from "./device";
import * as wear from "./wear";
import * as memory from "./memory";
import * as chips from "./chips";
import * as startup from "./startup";
import * as web from "./web";
import * as hub from "./hub";
import * as pg from "./pg";
import * as store from "./store";
import * as odds from "./odds";
import * as flash from "./flash";

/** Each section prints its own table(s). */
const SECTIONS: ReadonlyArray<{ readonly name: string; run(): Promise<void> }> = [
  siphash,
  openpaygo,
  nexus,
  issuing,
  device,
  wear,
  memory,
  chips,
  startup,
  sms,
  web,
  hub,
  pg,
  store,
  odds,
  flash,
];

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown section ${unknown.join(", ")}; sections: ${SECTIONS.map((s) => s.name).join(", ")}\n`,
    );
    process.exit(2);
  }
  process.stdout.write(`solkey benchmarks, Node ${process.version}, ${new Date().toISOString()}\n`);
  for (const section of SECTIONS) if (names.length === 0 || names.includes(section.name)) await section.run();
}

void main(process.argv.slice(2));
