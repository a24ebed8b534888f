import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "dist/", "coverage/", "**/*.js", "**/*.mjs"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Firmware runs on XS: no Node modules, no CommonJS.
    files: ["firmware/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          // Exact module names: as patterns they would also match our own firmware/crypto directory.
          paths: ["fs", "path", "os", "crypto", "child_process", "buffer", "process", "timers"],
          patterns: ["node:*", "**/hosts/**", "**/tools/**", "**/test/**"],
        },
      ],
      "no-restricted-globals": ["error", "Buffer", "process", "require", "setTimeout", "setInterval", "setImmediate"],
    },
  },
  {
    // The pages show what providers, operators and customers typed: as text only, never parsed as markup.
    files: ["web/**/*.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        ...["innerHTML", "outerHTML", "insertAdjacentHTML", "write", "writeln"].map((property) => ({
          property,
          message: "set text with textContent or append(); build elements with createElement",
        })),
      ],
    },
  },
);
