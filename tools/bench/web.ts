// Bench: the web pages. Each page's bundle (sim.js, which `solkey web` and the hub serve; console.js, the hub's operator
// console) minified and gzipped, and, for the device simulator in Debian's Chromium, the keypress-to-verdict time in the page: performance.now() around the page's handling of one key (the simulated
// board's 200 ms press with its debounce scans, the firmware's framing, verifier, ledger and journal commit, the
// flash saved to localStorage), read from the page after clicking each key of fresh demo codes.
import { DEMO_PROTOCOLS } from "../../hosts/node/simdemo";
import { openChromium, spawnSolkeyWeb } from "../../web/chromium";
import { consolePage, simPage } from "../../web/server";
import { printTable, type Cell } from "./table";

export const name = "web";

const ROUNDS = 3;

const DEMO_BUTTONS = { openpaygo: "OpenPAYGO", "nexus-full": "Nexus full", "nexus-small": "Nexus small" } as const;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

export async function run(): Promise<void> {
  printTable(
    "Web page bundles (esbuild, minified; gzip as a compressing proxy would send it)",
    ["script", "bytes", "gzipped", "build ms"],
    Object.entries({ "sim.js": simPage(), "console.js": consolePage() }).map(([name, page]) => [
      name,
      page.bundleBytes,
      page.bundleGzipBytes,
      Math.round(page.buildMs),
    ]),
    ["built when `solkey web` or `solkey hub` starts; the console's script is its own (no firmware in it)"],
  );
  const web = await spawnSolkeyWeb();
  const browser = await openChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(web.url);
    const rows: Cell[][] = [];
    for (const protocol of DEMO_PROTOCOLS) {
      await page.getByRole("button", { name: DEMO_BUTTONS[protocol], exact: true }).click();
      const verdicts: number[] = [];
      const keys: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const code = ((await page.locator("#codes code").first().textContent()) ?? "").replace(/ /g, "");
        for (const [i, key] of [...code].entries()) {
          await page.getByRole("button", { name: key, exact: true }).click();
          const ms = Number.parseFloat((await page.locator("#key-time").textContent()) ?? "");
          (i === code.length - 1 ? verdicts : keys).push(ms);
        }
      }
      const status = (await page.getByRole("status").first().textContent()) ?? "";
      if (!status.includes("load on")) throw new Error(`bench: ${protocol} codes did not turn the load on: ${status}`);
      rows.push([protocol, median(verdicts), Math.max(...verdicts), median(keys)]);
    }
    printTable(
      `Web simulator in Chromium: keypress to verdict in the page (ms, ${ROUNDS} demo codes per protocol)`,
      ["protocol", "last key median", "last key max", "other keys median"],
      rows,
      ["a key: the simulated 200 ms press (debounce scans every 5 ms), the firmware's work, the journal saved"],
    );
  } finally {
    await browser.close();
    await web.stop();
  }
}
