// The web device simulator in a real browser (issue 19): `solkey web` serves the page, Debian's Chromium runs it
// through playwright-core, and a person's actions are played on it: a demo code typed on the keypad turns the load on
// and a reload (a power cycle) keeps it on; a power cut keeps the credit; the small keypad; a provisioned image.
import fs from "fs";
import path from "path";
import type { Page } from "playwright-core";
import { openChromium, spawnSolkeyWeb, type Chromium, type RunningWeb } from "../web/chromium";
import { buildApp } from "../hub/app";
import { simPage } from "../web/server";
import { MASTER_HEX, scratch, solkey } from "./fleet.helpers";
import { hubFleet, testConfig } from "./hub.helpers";

/** A power cut costs at most the lease charged ahead (15 min, firmware/ledger/reducer.ts), plus a little slack. */
const MAX_CUT_LOSS_S = 15 * 60 + 60;

let web: RunningWeb;
let browser: Chromium | undefined;

beforeAll(async () => {
  web = await spawnSolkeyWeb();
}, 120_000);

afterAll(async () => {
  await web?.stop();
});

afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

it("an installed package (bin/ and dist/ only, as npm pack ships it) serves the page the build made", async () => {
  const dir = scratch("packed");
  const root = path.join(__dirname, "..");
  for (const name of ["bin", "dist", "package.json"])
    fs.cpSync(path.join(root, name), path.join(dir, name), { recursive: true });
  const installed = await spawnSolkeyWeb(dir);
  try {
    const served = Buffer.from(await (await fetch(`${installed.url}sim.js`)).arrayBuffer());
    expect(served.equals(simPage().assets.get("/sim.js")?.body ?? Buffer.alloc(0))).toBe(true);
    expect(await (await fetch(installed.url)).text()).toMatch(/^<!doctype html>/);
  } finally {
    await installed.stop();
  }
});

/** A page of a fresh browser (fresh profile: no device kept yet), with the page's requests and errors recorded. */
async function openPage(url = web.url): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  browser = await openChromium();
  const page = await browser.context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => (m.type() === "error" ? errors.push(m.text()) : undefined));
  await page.goto(url);
  return { page, requests, errors };
}

/** The first status region's text once it matches `expected` (it changes as the device runs); fails after 20 s. */
async function statusMatching(page: Page, expected: RegExp): Promise<string> {
  const status = page.getByRole("status").first();
  let text = "";
  for (const until = Date.now() + 20_000; Date.now() < until; await page.waitForTimeout(100)) {
    text = (await status.textContent()) ?? "";
    if (expected.test(text)) return text;
  }
  throw new Error(`the status region says "${text}", expected ${expected}`);
}

/** Clicks the keypad button named by each key of `keys` (spaces skipped). */
async function click(page: Page, keys: string): Promise<void> {
  for (const key of keys.replace(/ /g, "")) await page.getByRole("button", { name: key, exact: true }).click();
}

/** Seconds of credit the status says ("credit 1d 02:03:04"). */
function creditSeconds(status: string): number {
  const m = /credit (?:(\d+)d )?(\d\d):(\d\d):(\d\d)/.exec(status);
  if (!m) throw new Error(`no credit in "${status}"`);
  return Number(m[1] ?? 0) * 86_400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

describe("the web device simulator in Chromium", () => {
  it("acceptance: a demo code clicked on the keypad turns the load on, and after a reload it is still on", async () => {
    const { page, requests, errors } = await openPage();
    await statusMatching(page, /load off/);
    const code = (await page
      .getByText(/^\*[\d ]+#$/)
      .first()
      .textContent()) as string;
    expect(code).toMatch(/^\*[\d ]+#$/);
    await click(page, code);
    const on = await statusMatching(page, /load on/);
    expect(creditSeconds(on)).toBeGreaterThan(0);
    expect(await page.locator("#key-time").textContent()).toMatch(/^\d+\.\d\d ms$/);

    await page.reload();
    await statusMatching(page, /load on/);
    // Nothing but the page's own files, and no script error or CSP violation.
    expect(requests.length).toBeGreaterThanOrEqual(6); // two page loads of index.html, sim.css, sim.js
    expect(requests.filter((url) => !url.startsWith(web.url) && !url.startsWith("data:"))).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);

  it("keeps the chip's OTP bits in the page's storage: the journal erased there boots locked, not fresh", async () => {
    const { page, errors } = await openPage();
    await statusMatching(page, /load off/);
    await click(
      page,
      (await page
        .getByText(/^\*[\d ]+#$/)
        .first()
        .textContent()) as string,
    );
    await statusMatching(page, /load on/);
    // The mark (bit 0) is stored beside the flash; the journal erased from storage (the erase attack) and a reload.
    expect(await page.evaluate('localStorage.getItem("solkey.sim.otp").slice(0, 4)')).toBe("0100");
    await page.evaluate('localStorage.removeItem("solkey.sim.journal")');
    await page.reload();
    await statusMatching(page, /^locked/);
    // Without the kept bits (every page load a new chip, as before) the same erase gave a factory-fresh device.
    await page.evaluate('localStorage.removeItem("solkey.sim.journal"); localStorage.removeItem("solkey.sim.otp")');
    await page.reload();
    await statusMatching(page, /load off/);
    expect(await page.getByRole("status").first().textContent()).not.toMatch(/locked/);
    expect(errors).toEqual([]);
  }, 120_000);

  it("runs the same at the hub's /sim/: a demo code turns the load on, with nothing fetched beyond the page", async () => {
    const fleet = await hubFleet({ protocol: "nexus-full" }, 1);
    const app = buildApp({ config: testConfig(), store: fleet.store, log: false, simPage: simPage() });
    try {
      const sim = (await app.listen({ port: 0, host: "127.0.0.1" })) + "/sim/";
      const { page, requests, errors } = await openPage(sim);
      await statusMatching(page, /load off/);
      await click(page, (await page.locator("#codes code").first().textContent()) as string);
      await statusMatching(page, /load on/);
      expect(requests.filter((url) => !url.startsWith(sim) && !url.startsWith("data:"))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await app.close();
      await fleet.store.close();
    }
  }, 120_000);

  it("keeps the credit across a power cut (button and keyboard), losing at most the lease charged ahead", async () => {
    const { page } = await openPage();
    await page.getByRole("button", { name: "Nexus full", exact: true }).click();
    await statusMatching(page, /load off/);
    const code = (await page.locator("#codes li", { hasText: "add 1 hour" }).locator("code").textContent()) as string;
    await page.keyboard.type(code.replace(/ /g, ""));
    const before = creditSeconds(await statusMatching(page, /load on, credit/));
    expect(before).toBeGreaterThan(3000);
    expect(before).toBeLessThanOrEqual(3600);

    await page.getByRole("button", { name: "Power cut" }).click();
    const afterButton = creditSeconds(await statusMatching(page, /load on, credit/));
    expect(afterButton).toBeLessThanOrEqual(before);
    expect(afterButton).toBeGreaterThan(before - MAX_CUT_LOSS_S);
    await page.keyboard.press("p");
    const afterKey = creditSeconds(await statusMatching(page, /load on, credit/));
    expect(afterKey).toBeGreaterThan(before - 2 * MAX_CUT_LOSS_S);
    expect(await page.locator("#log").textContent()).toContain("power cut");
  }, 120_000);

  it("draws the small 4+1 keypad of Nexus small and takes its demo code", async () => {
    const { page } = await openPage();
    await page.getByRole("button", { name: "Nexus small", exact: true }).click();
    const keypad = page.getByRole("group", { name: "keypad" });
    expect(await keypad.getByRole("button").allTextContents()).toEqual(["1", "2", "3", "4", "5"]);
    const code = (await page.locator("#codes code").first().textContent()) as string;
    expect(code).toMatch(/^1[2-5 ]+$/);
    await click(page, code);
    await statusMatching(page, /load on/);
  }, 120_000);

  it("loads the images `solkey provision` wrote (ESP32 .bin pair, nRF52 .hex) and takes `solkey issue` codes", async () => {
    const { page } = await openPage();
    const input = page.getByLabel(/Load a provisioned device/);
    for (const [protocol, board] of [
      ["openpaygo", "esp32"],
      ["nexus-full", "nrf52"],
    ]) {
      const dir = scratch("web");
      const db = path.join(dir, "fleet.db");
      const made = await solkey(
        ["provision", "--protocol", protocol, "--board", board, "--count", "1", "--db", db, "--out", dir],
        { SOLKEY_MASTER_KEY: MASTER_HEX },
      );
      expect(made.code).toBe(0);
      const issued = await solkey(["issue", "SK-00000001", "--days", "2", "--db", db, "--json"]);
      expect(issued.code).toBe(0);
      const keycode = (JSON.parse(issued.stdout) as { keycode: string }).keycode;
      const files = board === "esp32" ? ["SK-00000001.bin", "SK-00000001.journal.bin"] : ["SK-00000001.hex"];
      await input.setInputFiles(files.map((f) => path.join(dir, f)));
      await statusMatching(page, /load off, no credit/);
      expect(await page.locator("#device-line").textContent()).toBe(
        `${protocol}, matrix-4x3 keypad, id 1, on a simulated ${board}`,
      );
      expect(await page.locator("#codes").textContent()).toContain("solkey issue");
      await click(page, protocol === "openpaygo" ? `*${keycode}#` : keycode);
      expect(creditSeconds(await statusMatching(page, /load on/))).toBeGreaterThan(2 * 86_400 - 3600);
    }
    await input.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
    expect(await page.getByRole("alert").textContent()).toMatch(/^notes\.txt is neither a \.bin nor a \.hex image/);
  }, 180_000);
});
