#!/usr/bin/env node
// The solkey command: runs the compiled CLI, dist/solkey.js (`npm run build`, run at install by `prepare`).
// A reader that goes away (`solkey ... | head`) ends the command quietly, as for any Unix filter.
process.stdout.on("error", (e) => (e.code === "EPIPE" ? process.exit(0) : Promise.reject(e)));
let cli;
try {
  cli = require("../dist/solkey.js");
} catch (e) {
  if (e.code !== "MODULE_NOT_FOUND" || !String(e.message).includes("dist/solkey.js")) throw e;
  process.stderr.write("solkey: not built yet; run `npm run build` (or `npm ci`) in the solkey checkout\n");
  process.exit(1);
}
cli.main(process.argv.slice(2)).then((code) => process.exit(code));
