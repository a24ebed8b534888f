// `npm run screenshots`: drives Debian's Chromium over both pages and writes the README's pictures: docs/sim.png (the
// device simulator after a demo code, from `solkey web`) and docs/console.png (the operator console on a real hub
// with demo payments, an orphan and delivered SMS). 1024 pixels wide, the visible part of the page only.
import path from "path";
import type { Page } from "playwright-core";
import { openChromium, spawnSolkeyWeb } from "../web/chromium";
import { startConsoleHub } from "./consolehub";

const DOCS = path.join(__dirname, "..", "docs");
const VIEWPORT = { width: 1024, height: 860 };

/** Polls the first status region until it matches (the pages update it as they work). */
async function until(page: Page, expected: RegExp): Promise<void> {
  const status = page.getByRole("status").first();
  for (const stop = Date.now() + 20_000; !expected.test((await status.textContent()) ?? "");) {
    if (Date.now() > stop) throw new Error(`screenshots: the page never said ${expected}`);
    await page.waitForTimeout(50);
  }
}

async function simShot(page: Page): Promise<void> {
  const web = await spawnSolkeyWeb();
  try {
    await page.goto(web.url);
    await until(page, /load off/);
    const code = ((await page.locator("#codes code").first().textContent()) ?? "").replace(/ /g, "");
    for (const key of code) await page.getByRole("button", { name: key, exact: true }).click();
    await until(page, /load on/);
    await page.screenshot({ path: path.join(DOCS, "sim.png") });
  } finally {
    await web.stop();
  }
}

async function consoleShot(page: Page): Promise<void> {
  const hub = await startConsoleHub();
  try {
    const [a, b, c] = hub.serials;
    for (const [id, amount, reference] of [
      ["QDM1A2B3C4", "150.00", a],
      ["QDM5D6E7F8", "100.00", b],
      ["QDM9G0H1J2", "50.00", c],
      ["QDMK3L4M5N", "100.00", "0712 34 567"],
    ])
      if ((await hub.pay(id, amount, reference)) !== 200) throw new Error(`screenshots: payment ${id} refused`);
    await hub.deliver(3, "Success");
    await page.goto(`${hub.url}/console/`);
    await page.getByLabel("API key").fill(await hub.key("issue"));
    await page.getByRole("button", { name: "Sign in" }).click();
    await until(page, /devices/);
    await page.getByRole("button", { name: "Payments", exact: true }).click();
    await until(page, /orphan/);
    await page.screenshot({ path: path.join(DOCS, "console.png") });
  } finally {
    await hub.stop();
  }
}

async function main(): Promise<void> {
  const browser = await openChromium();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize(VIEWPORT);
    await simShot(page);
    await consoleShot(page);
  } finally {
    await browser.close();
  }
  process.stdout.write(`screenshots: ${path.join(DOCS, "sim.png")}, ${path.join(DOCS, "console.png")}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`screenshots: ${e.message}\n`);
  process.exitCode = 1;
});
