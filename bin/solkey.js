#!/usr/bin/env node
// The solkey command: runs the compiled CLI, dist/solkey.js (`npm run build`, run at install by `prepare`).
// A reader that goes away (`solkey ... | head`) ends the command quietly, as for any Unix filter.
process.stdout.on("error", (e) => (e.code === "EPIPE" ? process.exit(0) : Promise.reject(e)));
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const { createRequire, wrap } = require("module");

const BUNDLE = path.join(__dirname, "../dist/solkey.js");

/**
 * dist/solkey.js as `require` would load it, but compiled with V8's code cache that the build wrote beside it
 * (dist/solkey.js.cache): compiling the half-megabyte bundle from source is ~20 ms of each start, with the cache ~4.
 * A cache from another Node version is rejected by V8 and the bundle compiled from source, as without one.
 */
function load() {
  let source;
  try {
    source = fs.readFileSync(BUNDLE, "utf8");
  } catch (e) {
    if (e.code !== "ENOENT") throw e;
    process.stderr.write("solkey: not built yet; run `npm run build` (or `npm ci`) in the solkey checkout\n");
    process.exit(1);
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(BUNDLE + ".cache");
  } catch {
    cachedData = undefined;
  }
  const module = { exports: {} };
  new vm.Script(wrap(source), { filename: BUNDLE, cachedData })
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE));
  return module.exports;
}

load()
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
