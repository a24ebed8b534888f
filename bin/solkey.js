#!/usr/bin/env node
// The solkey command: runs tools/cli.ts through ts-node (transpile only; `npm test` type-checks).
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
require("../tools/cli")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
