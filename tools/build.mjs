// `npm run build` (also at `prepare` and in jest's global setup): bundles the solkey command and everything it
// imports (firmware, hosts, fleet, hub, web, tools) from tools/cli.ts into dist/solkey.js, so the installed command
// runs plain JavaScript: no ts-node, no dev dependency, about 10x faster to start (`npm run bench -- startup`).
// npm packages stay external (installed as dependencies; better-sqlite3 is native), but for the small pure-JavaScript
// ones every command loads, bundled in: resolving and compiling them as separate modules cost ~15 ms a start.
import { build } from "esbuild";
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const BUNDLED = ["@noble/hashes", "commander", "age-encryption"];
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => !BUNDLED.includes(n));
const aliases = JSON.parse(fs.readFileSync(path.join(ROOT, "hosts/node/aliases.json"), "utf8"));

await build({
  entryPoints: [path.join(ROOT, "tools/cli.ts")],
  outfile: path.join(ROOT, "dist/solkey.js"),
  absWorkingDir: ROOT,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external,
  // Moddable's built-in modules (firmware/main.ts imports them by name) become the hosts/node stand-ins.
  alias: Object.fromEntries(Object.entries(aliases).map(([name, file]) => [name, "./" + file])),
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
});
