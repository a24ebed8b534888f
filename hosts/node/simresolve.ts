// Node only (never bundled): maps Moddable's module names (embedded:io/digital, timer, flash...) to the hosts/node
// stand-ins for code run by ts-node, as jest's moduleNameMapper and esbuild's alias table do for tests and XS.
// Imported first by the tools that load firmware/main.ts outside jest (tools/commands/sim.ts).
import Module from "module";
import { MODDABLE_ALIASES } from "../xsnap/engine";

type Resolve = (this: unknown, request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolve = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return resolve.call(this, MODDABLE_ALIASES[request] ?? request, ...rest);
};
