// The Node side of the two-engine harness: bundles firmware modules with esbuild and runs them inside Moddable's XS
// engine (hosts/xsnap/worker.mjs), so tests and benchmarks run the very same module code under Node and under XS.
import { spawn, type ChildProcessByStdio } from "child_process";
import fs from "fs";
import { createRequire } from "module";
import path from "path";
import readline from "readline";
import type { Readable, Writable } from "stream";
import aliases from "../node/aliases.json";

/** The repository root: the nearest folder above this module holding package.json (from the sources or dist/). */
function _root(dir: string): string {
  return fs.existsSync(path.join(dir, "package.json")) ? dir : _root(path.dirname(dir));
}
const ROOT = _root(__dirname);

/**
 * Moddable's built-in modules, mapped to the pure-TypeScript stand-ins in hosts/node (they run in XS too). One table
 * (hosts/node/aliases.json) for this bundler, jest's moduleNameMapper and the command's build (tools/build.mjs).
 */
export const MODDABLE_ALIASES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(aliases).map(([name, file]) => [name, path.join(ROOT, file)]),
);

/** Bundles `entry` (a path from the repository root) into one script that sets `globalThis[globalName]` to its exports. */
export function bundle(entry: string, globalName = "probe"): string {
  // esbuild at the first bundle, not at import: web/server.ts takes MODDABLE_ALIASES from here at every start.
  const { buildSync } = createRequire(__filename)("esbuild") as typeof import("esbuild");
  const result = buildSync({
    entryPoints: [path.resolve(ROOT, entry)],
    bundle: true,
    write: false,
    format: "iife",
    globalName,
    platform: "neutral",
    target: "es2022",
    alias: MODDABLE_ALIASES,
    logLevel: "silent",
  });
  // An IIFE assigns `var probe = ...`; make it a property of the global object so later scripts see it.
  return `${result.outputFiles[0].text}\nglobalThis.${globalName} = ${globalName};`;
}

export interface Evaluation {
  /** Strings the script sent with issueCommand, in order. */
  readonly messages: string[];
  /** XS's deterministic count of work done by this evaluation (xsnap meterUsage.compute). */
  readonly compute: number;
  /** XS slots in use when the evaluation ended, garbage included until a collection (meterUsage.currentHeapCount). */
  readonly heapCount: number;
}

type Pending = { resolve(e: Evaluation): void; reject(e: Error): void };

/** One XS machine. Scripts run one after another and share their global object. */
export class XsEngine {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const reply = JSON.parse(line) as {
        id: number;
        ok: boolean;
        messages: string[];
        compute: number;
        heapCount: number;
        error: string;
      };
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve({ messages: reply.messages, compute: reply.compute, heapCount: reply.heapCount });
      else waiter?.reject(new Error(`XS: ${reply.error}`));
    });
    child.on("exit", (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`XS worker exited with code ${code}`));
      this.pending.clear();
    });
  }

  static start(): XsEngine {
    const child = spawn(process.execPath, [path.join(ROOT, "hosts/xsnap/worker.mjs")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    return new XsEngine(child);
  }

  evaluate(code: string): Promise<Evaluation> {
    if (this.closed) return Promise.reject(new Error("XsEngine is closed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(JSON.stringify({ id, code }) + "\n");
    });
  }

  /** Ends the XS machine; calling it again does nothing. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.stdin.end();
    });
  }
}

export interface ProbeResult<T> {
  readonly result: T;
  readonly compute: number;
  /** XS slots in use after the call (see Evaluation.heapCount). */
  readonly heapCount: number;
}

/**
 * A probe is a module (usually under test/probes/) whose exports take and return JSON-able values. Node tests import
 * it directly; `loadProbe` loads the same module into XS, so both engines answer the same calls.
 */
export class XsProbe {
  private constructor(readonly engine: XsEngine) {}

  static async load(entry: string): Promise<XsProbe> {
    const engine = XsEngine.start();
    try {
      await engine.evaluate(bundle(entry));
      return new XsProbe(engine);
    } catch (e) {
      await engine.close();
      throw e;
    }
  }

  /** Calls export `name` inside XS with JSON-copied `args`; the result comes back through JSON too. */
  async call<T>(name: string, ...args: unknown[]): Promise<ProbeResult<T>> {
    const code =
      `issueCommand(new TextEncoder().encode(JSON.stringify({ r: probe[${JSON.stringify(name)}]` +
      `(...${JSON.stringify(args)}) })).buffer);`;
    const { messages, compute, heapCount } = await this.engine.evaluate(code);
    return { result: (JSON.parse(messages[messages.length - 1]) as { r: T }).r, compute, heapCount };
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
