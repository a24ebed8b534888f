// Jest transform: ES modules from node_modules (see jest.config.js) to CommonJS, with esbuild.
const { transformSync } = require("esbuild");

module.exports = {
  process(source, filename) {
    return {
      code: transformSync(source, { format: "cjs", loader: "js", target: "es2022", sourcefile: filename }).code,
    };
  },
};
