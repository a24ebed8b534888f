// Builds the web pages (issue 19): the device simulator (web/sim), served by `solkey web` and the hub, and the
// operator console (web/console), served by the hub only (it needs the hub's API). A page script is bundled with
// esbuild once, when the server starts (about 0.1 s), from the TypeScript sources: the browser runs the firmware's own
// modules, never a copy. Plain node:http; each answer (the files and a Content-Security-Policy that lets the page run
// only its own script) is hub/static.ts's, which the hub gives at /sim/ and /console/.
import { buildSync } from "esbuild";
import fs from "fs";
import http from "http";
import type { AddressInfo } from "net";
import path from "path";
import zlib from "zlib";
import { pagePolicy, serveAsset, type BuiltPage, type WebAsset } from "../hub/static";
import { MODDABLE_ALIASES } from "../hosts/xsnap/engine";

/** The package root (where package.json is), found upward from here: works from the sources and a compiled copy. */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "web", "sim", "index.html")))
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`no solkey package (package.json with web/sim/) above ${from}`);
  }
}

/** A page's folder below web/: index.html and <name>.css as they are, <name>.js bundled from main.ts. */
function buildPage(
  name: "sim" | "console",
  title: string,
  connect: "none" | "self",
  root: string,
  alias: Readonly<Record<string, string>> = {},
): BuiltPage {
  const dir = path.join(root, "web", name);
  const started = performance.now();
  const result = buildSync({
    entryPoints: [path.join(dir, "main.ts")],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    alias,
    logLevel: "silent",
  });
  const script = Buffer.from(result.outputFiles[0].contents);
  const html = fs.readFileSync(path.join(dir, "index.html"));
  const assets = new Map<string, WebAsset>([
    ["/", { type: "text/html; charset=utf-8", body: html }],
    ["/index.html", { type: "text/html; charset=utf-8", body: html }],
    [`/${name}.js`, { type: "text/javascript; charset=utf-8", body: script }],
    [`/${name}.css`, { type: "text/css; charset=utf-8", body: fs.readFileSync(path.join(dir, `${name}.css`)) }],
  ]);
  return {
    title,
    assets,
    policy: pagePolicy(connect),
    bundleBytes: script.length,
    bundleGzipBytes: zlib.gzipSync(script).length,
    buildMs: performance.now() - started,
  };
}

/** The device simulator page (web/sim): it runs the firmware and fetches nothing. */
export function simPage(root = packageRoot()): BuiltPage {
  // Moddable's modules (timer, flash, embedded:io/*, mc/config) -> the simulated board's stand-ins, as in XS.
  return buildPage("sim", "device simulator", "none", root, MODDABLE_ALIASES);
}

/** The operator console page (web/console): it calls its own origin's /api/v1 only (the hub serves it). */
export function consolePage(root = packageRoot()): BuiltPage {
  return buildPage("console", "operator console", "self", root);
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
    serveAsset(page, request.method, pathname, response);
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
