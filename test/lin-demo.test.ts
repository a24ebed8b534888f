// The lin build's entry (hosts/moddable/lin/main.ts) under Node: every demo device applies its codes, refuses the
// replay, and reports each step; Moddable's mcconfig -p lin runs the same module (README, Moddable's simulator).
import fs from "fs";
import path from "path";
import { runDemo } from "../hosts/moddable/lin/main";

describe("lin demo", () => {
  it("applies each demo device's codes and refuses the replayed one, for every protocol", () => {
    const lines: string[] = [];
    expect(runDemo((line) => lines.push(line))).toBe(0);
    expect(lines.filter((l) => / again -> .*duplicate/.test(l))).toHaveLength(3);
    expect(lines.pop()).toBe("lin demo: every code applied as expected");
  });

  it("exports from the lin simfirmware shim every value the Node simfirmware exports", () => {
    const names = (file: string, pattern: RegExp) =>
      [...fs.readFileSync(path.join(__dirname, "..", file), "utf8").matchAll(pattern)]
        .flatMap((m) => m[1].split(","))
        .map((n) => n.trim())
        .filter((n) => n !== "" && !n.startsWith("type "))
        .sort();
    const node = names("hosts/node/simfirmware.ts", /^export \{([^}]*)\}/gm);
    expect(node.length).toBeGreaterThan(5);
    expect(names("hosts/moddable/lin/simfirmware.js", /^export \{([^}]*)\}/gm)).toEqual(node);
  });
});
