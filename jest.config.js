/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Type-checking is `tsc`'s job in `npm test`; with isolatedModules (tsconfig) ts-jest only transpiles.
  transform: {
    "^.+\\.ts$": "ts-jest",
    // @noble/* 2, @scure/base 2, age-encryption and cookie 2 (fastify's inject) ship ES modules only; Node 20.19+
    // requires them natively, jest needs them as CommonJS.
    "/node_modules/(@noble/.+|@scure/.+|age-encryption/.+|cookie/.+)\\.js$": "<rootDir>/test/esm-transform.js",
  },
  transformIgnorePatterns: ["/node_modules/(?!@noble/|@scure/|age-encryption/|cookie/)"],
  // Moddable's built-in modules resolve to the Node stand-ins, so firmware/main.ts runs unchanged in the simulator.
  moduleNameMapper: Object.fromEntries(
    Object.entries(require("./hosts/node/aliases.json")).map(([name, file]) => [`^${name}$`, `<rootDir>/${file}`]),
  ),
  // The command line the tests spawn (bin/solkey.js) runs dist/: built fresh from the sources before every run.
  globalSetup: "<rootDir>/test/build-setup.js",
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
