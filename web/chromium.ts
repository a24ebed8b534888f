// Debian's Chromium driven by playwright-core, and `solkey web` started as a user starts it: for the browser tests
// (test/web.test.ts) and `npm run bench -- web`. Node only; never part of a page.
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import readline from "readline";
import { chromium, type BrowserContext } from "playwright-core";
import { packageRoot } from "./server";

/** Debian's package `chromium` (playwright's own browser downloads are not used: nothing is fetched at test time). */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless, and quiet: no first-run, sync, component or background traffic, so the page's requests are all there is. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh Chromium with a fresh --user-data-dir (so a fresh localStorage). Throws one line when it is missing. */
export async function openChromium(): Promise<Chromium> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\``);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "solkey-chromium-"));
  // launchPersistentContext passes --user-data-dir=<profile> itself (it refuses one in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface RunningWeb {
  readonly url: string;
  /** The line `solkey web` printed when it started (bundle size, build time). */
  readonly banner: string;
  stop(): Promise<void>;
}

/** Starts `solkey web --port 0 --host 127.0.0.1` in a child process and waits for its address. */
export function spawnSolkeyWeb(root = packageRoot()): Promise<RunningWeb> {
  const child = spawn(
    process.execPath,
    [path.join(root, "bin", "solkey.js"), "web", "--port", "0", "--host", "127.0.0.1"],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`solkey web exited with ${code}: ${stderr.trim()}`)));
    readline.createInterface({ input: child.stdout }).once("line", (banner) => {
      const url = /http:\/\/\S+\//.exec(banner)?.[0];
      if (url) resolve({ url, banner, stop });
      else void stop().then(() => reject(new Error(`solkey web printed no address: ${banner}`)));
    });
  });
}
