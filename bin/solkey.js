#!/usr/bin/env node
// The solkey command: runs tools/cli.ts through ts-node (transpile only; `npm test` type-checks).
// A reader that goes away (`solkey ... | head`) ends the command quietly, as for any Unix filter.
process.stdout.on("error", (e) => (e.code === "EPIPE" ? process.exit(0) : Promise.reject(e)));
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
require("../tools/cli")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
