// jest global setup: builds dist/solkey.js from the sources (tools/build.mjs, well under a second), so the tests that
// spawn bin/solkey.js run exactly the code under test, never a stale build.
const { execFileSync } = require("child_process");
const path = require("path");

module.exports = () => {
  execFileSync(process.execPath, [path.join(__dirname, "..", "tools", "build.mjs")], { stdio: "inherit" });
};
