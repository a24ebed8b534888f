// Builds the web pages (issue 19): the device simulator (web/sim), served by `solkey web` and the hub, and the
// operator console (web/console), served by the hub only (it needs the hub's API). In a checkout a page script is
// bundled with esbuild once, when the server starts (about 0.1 s), from the TypeScript sources: the browser runs the
// firmware's own modules, never a copy. An installed package (`npm pack`) has no sources: it serves the files
// `npm run build` bundled the same way into dist/<page>/. Plain node:http; each answer (the files and a
// Content-Security-Policy that lets the page run only its own script) is hub/static.ts's, which the hub gives at /sim/
// and /console/.
import fs from "fs";
import http from "http";
import type { AddressInfo } from "net";
import { createRequire } from "module";
import path from "path";
import zlib from "zlib";
import { pagePolicy, serveAsset, type BuiltPage, type WebAsset } from "../hub/static";
import { MODDABLE_ALIASES } from "../hosts/xsnap/engine";

/** The package root holding the pages' sources (package.json and web/sim/), found upward from `from`, if any. */
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

type PageName = "sim" | "console";

/** What differs between the pages: the title, whether the page may call its own origin, module aliases. */
const PAGES: Readonly<
  Record<PageName, { title: string; connect: "none" | "self"; alias: Readonly<Record<string, string>> }>
> = {
  // The simulator runs the firmware and fetches nothing; Moddable's modules (timer, flash, embedded:io/*, mc/config)
  // become the simulated board's stand-ins, as in XS.
  sim: { title: "device simulator", connect: "none", alias: MODDABLE_ALIASES },
  // The console calls its own origin's /api/v1 only (the hub serves it).
  console: { title: "operator console", connect: "self", alias: {} },
};

/**
 * A page's folder: index.html and <name>.css as they are and <name>.js bundled from web/<name>/main.ts now, in a
 * checkout; in an installed package (no sources), the same three files as the build wrote them into dist/<name>/.
 */
function _page(name: PageName, root: string | undefined): BuiltPage {
  const started = performance.now();
  const { title, connect, alias } = PAGES[name];
  const dir = root === undefined ? path.join(__dirname, name) : path.join(root, "web", name);
  const read = (file: string) => fs.readFileSync(path.join(dir, file));
  let script: Buffer;
  if (root === undefined) script = read(`${name}.js`);
  else {
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
      alias,
      logLevel: "silent",
    });
    script = Buffer.from(result.outputFiles[0].contents);
  }
  const html = read("index.html");
  const assets = new Map<string, WebAsset>([
    ["/", { type: "text/html; charset=utf-8", body: html }],
    ["/index.html", { type: "text/html; charset=utf-8", body: html }],
    [`/${name}.js`, { type: "text/javascript; charset=utf-8", body: script }],
    [`/${name}.css`, { type: "text/css; charset=utf-8", body: read(`${name}.css`) }],
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

/** The device simulator page (web/sim). */
export function simPage(root = _sourceRoot()): BuiltPage {
  return _page("sim", root);
}

/** The operator console page (web/console). */
export function consolePage(root = _sourceRoot()): BuiltPage {
  return _page("console", root);
}

/** Writes every page's files into `dir`/<page>/ (the build: dist/sim/ and dist/console/, which a package serves). */
export function writePages(dir: string): void {
  for (const name of Object.keys(PAGES) as PageName[]) {
    const page = _page(name, _sourceRoot());
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    for (const file of ["index.html", `${name}.js`, `${name}.css`])
      fs.writeFileSync(path.join(dir, name, file), (page.assets.get(`/${file}`) as WebAsset).body);
  }
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
