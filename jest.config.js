/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Type-checking is `tsc`'s job in `npm test`; with isolatedModules (tsconfig) ts-jest only transpiles.
  transform: {
    "^.+\\.ts$": "ts-jest",
    // @noble/hashes 2 ships ES modules only; Node 20.19+ requires them natively, jest needs them as CommonJS.
    "/node_modules/@noble/.+\\.js$": "<rootDir>/test/esm-transform.js",
  },
  transformIgnorePatterns: ["/node_modules/(?!@noble/)"],
  // Moddable's built-in modules resolve to the Node stand-ins, so firmware/main.ts runs unchanged in the simulator.
  moduleNameMapper: {
    "^embedded:io/digital$": "<rootDir>/hosts/node/digital.ts",
    "^embedded:io/digitalbank$": "<rootDir>/hosts/node/digitalbank.ts",
    "^flash$": "<rootDir>/hosts/node/flash.ts",
    "^timer$": "<rootDir>/hosts/node/timer.ts",
    "^mc/config$": "<rootDir>/hosts/node/simconfig.ts",
    "^otp$": "<rootDir>/hosts/node/otp.ts",
  },
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
};
