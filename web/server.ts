// Serves the web pages (issue 19): the device simulator (web/sim) now, the operator console (web/console) beside it
// later. The page script is bundled with esbuild once, when the server starts (about 0.1 s), from the TypeScript
// sources: the browser runs the firmware's own modules, never a copy. An installed package (`npm pack`) has no
// sources: it serves the files `npm run build` bundled the same way into dist/sim/. Plain node:http; each answer (the files and a
// Content-Security-Policy that lets the page run only its own script) is hub/static.ts's, which the hub gives at /sim/.
import fs from "fs";
import http from "http";
import type { AddressInfo } from "net";
import { createRequire } from "module";
import path from "path";
import zlib from "zlib";
import { serveAsset, type BuiltPage, type WebAsset } from "../hub/static";
import { MODDABLE_ALIASES } from "../hosts/xsnap/engine";

/** The package root holding the page's sources (package.json and web/sim/), found upward from `from`, if any. */
function _sourceRoot(from = __dirname): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "web", "sim", "main.ts")))
      return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The package root (where package.json is), found upward from here: works from the sources and a compiled copy. */
export function packageRoot(from = __dirname): string {
  const root = _sourceRoot(from);
  if (root === undefined) throw new Error(`no solkey package (package.json with web/sim/) above ${from}`);
  return root;
}

/** The page's files, as `npm run build` writes them beside dist/solkey.js for an installed package. */
const PAGE_FILES = { html: "index.html", script: "sim.js", css: "sim.css" } as const;

/**
 * The device simulator page: in a checkout, web/sim/index.html and sim.css as they are and sim.js bundled from
 * main.ts now; in an installed package (`npm pack`: no sources), the same files as the build made them (dist/sim/).
 */
export function simPage(root = _sourceRoot()): BuiltPage {
  const started = performance.now();
  if (root === undefined) {
    const dir = path.join(__dirname, "sim");
    const read = (name: string) => fs.readFileSync(path.join(dir, name));
    return _page(read(PAGE_FILES.html), read(PAGE_FILES.script), read(PAGE_FILES.css), started);
  }
  const dir = path.join(root, "web", "sim");
  // esbuild (its native binary's wrapper) only when a page is built: `solkey help` never needs it.
  const { buildSync } = createRequire(__filename)("esbuild") as typeof import("esbuild");
  const result = buildSync({
    entryPoints: [path.join(dir, "main.ts")],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    // Moddable's modules (timer, flash, embedded:io/*, mc/config) -> the simulated board's stand-ins, as in XS.
    alias: MODDABLE_ALIASES,
    logLevel: "silent",
  });
  const script = Buffer.from(result.outputFiles[0].contents);
  const read = (name: string) => fs.readFileSync(path.join(dir, name));
  return _page(read(PAGE_FILES.html), script, read(PAGE_FILES.css), started);
}

/** Writes the page's files into `dir` (the build: dist/sim/, which an installed package serves). */
export function writeSimPage(dir: string): void {
  const page = simPage();
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, url] of [
    [PAGE_FILES.html, "/index.html"],
    [PAGE_FILES.script, "/sim.js"],
    [PAGE_FILES.css, "/sim.css"],
  ])
    fs.writeFileSync(path.join(dir, name), (page.assets.get(url) as WebAsset).body);
}

function _page(html: Buffer, script: Buffer, css: Buffer, started: number): BuiltPage {
  const assets = new Map<string, WebAsset>([
    ["/", { type: "text/html; charset=utf-8", body: html }],
    ["/index.html", { type: "text/html; charset=utf-8", body: html }],
    ["/sim.js", { type: "text/javascript; charset=utf-8", body: script }],
    ["/sim.css", { type: "text/css; charset=utf-8", body: css }],
  ]);
  return {
    assets,
    bundleBytes: script.length,
    bundleGzipBytes: zlib.gzipSync(script).length,
    buildMs: performance.now() - started,
  };
}

export interface WebServer {
  /** The page's address, e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly page: BuiltPage;
  close(): Promise<void>;
}

/** Builds the page and listens on `host`:`port` (0: any free port). Resolves once it listens. */
export function startWebServer(options: { port: number; host: string }): Promise<WebServer> {
  const page = simPage();
  const server = http.createServer((request, response) => {
    let pathname: string;
    try {
      pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    } catch {
      pathname = "";
    }
    serveAsset(page.assets, request.method, pathname, response);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      const { port } = server.address() as AddressInfo;
      const host = options.host.includes(":") ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${host}:${port}/`,
        page,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
