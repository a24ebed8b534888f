import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "coverage/", "**/*.js", "**/*.mjs"] },
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
        { patterns: ["node:*", "fs", "path", "os", "crypto", "child_process", "../../hosts/*", "../../tools/*"] },
      ],
      "no-restricted-globals": ["error", "Buffer", "process", "require", "setTimeout", "setInterval", "setImmediate"],
    },
  },
);
