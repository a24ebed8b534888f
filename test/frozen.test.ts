// Every exported constant table in firmware/ is deeply frozen. The firmware's modules are preloaded (manifest.json
// `preload`): XS's linker warns "not frozen" for each mutable object they export, aliases it into RAM, and, as
// preloaded modules are shared, a mutable table could be changed at run time. This keeps a new unfrozen table out.
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { patternFor } from "../firmware/io/feedback";
import { FEEDBACK_NAMES } from "./feedback-names";

const FIRMWARE = join(__dirname, "..", "firmware");

/** Every firmware module (main.ts too: jest's moduleNameMapper gives it the hosts/node stand-ins). */
function firmwareModules(dir = FIRMWARE): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return firmwareModules(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/**
 * Paths (from `name`) of the objects under `value` that are not frozen, own properties followed recursively.
 * Functions and classes are code, not tables; typed arrays and DataViews cannot be frozen.
 */
function unfrozen(value: unknown, name: string, seen = new Set<object>()): string[] {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value) || seen.has(value)) return [];
  seen.add(value);
  const found = Object.isFrozen(value) ? [] : [name];
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
    found.push(...unfrozen(descriptor.value, `${name}.${String(key)}`, seen));
  }
  return found;
}

describe("frozen firmware tables", () => {
  const modules = firmwareModules();

  it("the check finds an unfrozen object at any depth, and passes a deeply frozen one", () => {
    const inner = { steps: [1, 2] };
    expect(unfrozen({ inner }, "T")).toEqual(["T", "T.inner", "T.inner.steps"]);
    Object.freeze(inner);
    expect(unfrozen(Object.freeze({ inner }), "T")).toEqual(["T.inner.steps"]);
    Object.freeze(inner.steps);
    expect(unfrozen(Object.freeze({ inner, bytes: new Uint8Array(2), f: () => 0 }), "T")).toEqual([]);
  });

  it.each(modules.map((path) => [relative(FIRMWARE, path), path]))(
    "%s exports only deeply frozen objects",
    (_name, path) => {
      const exports = jest.requireActual<Record<string, unknown>>(path);
      const found = Object.entries(exports).flatMap(([name, value]) => unfrozen(value, name));
      expect(found).toEqual([]);
    },
  );

  it("walks real tables: the firmware exports object constants to check", () => {
    const objects = modules.flatMap((path) =>
      Object.values(jest.requireActual<Record<string, unknown>>(path)).filter((v) => typeof v === "object" && v),
    );
    expect(objects.length).toBeGreaterThan(0);
  });

  // The fixed feedback patterns are module-level but not exported: reached through patternFor.
  it("feedback patterns are deeply frozen", () => {
    expect(FEEDBACK_NAMES.flatMap((name) => unfrozen(patternFor(name, 3), name))).toEqual([]);
  });
});
