// `npm run build` (also at `prepare` and in jest's global setup): bundles the solkey command and everything it
// imports (firmware, hosts, fleet, hub, web, tools) from tools/cli.ts into dist/solkey.js, so the installed command
// runs plain JavaScript: no ts-node, no dev dependency, about 10x faster to start (`npm run bench -- startup`).
// npm packages stay external (installed as dependencies; better-sqlite3 is native), but for the small pure-JavaScript
// ones, bundled in: resolving and compiling them as separate modules cost ~15 ms a start. The bundle is minified
// (half the source V8 parses at each start); the packages most commands never use (fastify, pg, esbuild, typage) are
// required by the function that needs them, never at import, so `solkey help` does not load them.
import { build } from "esbuild";
import fs from "fs";
import Module from "module";
import path from "path";
import { fileURLToPath } from "url";
import vm from "vm";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const BUNDLED = ["@noble/hashes", "commander", "age-encryption"];
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => !BUNDLED.includes(n));
const aliases = JSON.parse(fs.readFileSync(path.join(ROOT, "hosts/node/aliases.json"), "utf8"));

const OUT = path.join(ROOT, "dist/solkey.js");

await build({
  entryPoints: [path.join(ROOT, "tools/cli.ts")],
  outfile: OUT,
  absWorkingDir: ROOT,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external,
  // Moddable's built-in modules (firmware/main.ts imports them by name) become the hosts/node stand-ins.
  alias: Object.fromEntries(Object.entries(aliases).map(([name, file]) => [name, "./" + file])),
  minify: true,
  keepNames: true,
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
});

// V8's code cache of the bundle, which bin/solkey.js compiles with (the bundle compiled from source is ~20 ms of every
// start). Written at each build: V8 checks a cache against the source's length only, so a stale one must never stay.
// The cache is taken after the module ran and built its command table (as every start does), so it holds those
// functions compiled too, not only the top level.
const compiled = new vm.Script(Module.wrap(fs.readFileSync(OUT, "utf8")), { filename: OUT });
const bundle = { exports: {} };
compiled
  .runInThisContext()
  .call(bundle.exports, bundle.exports, Module.createRequire(OUT), bundle, OUT, path.dirname(OUT));
bundle.exports.program().helpInformation();
// The pages (`solkey web`, the hub's /sim/ and /console/), built now for an installed package, which has no sources.
bundle.exports.writePages(path.join(ROOT, "dist"));
fs.writeFileSync(OUT + ".cache", compiled.createCachedData());
