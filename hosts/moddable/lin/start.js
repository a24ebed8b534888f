// The `main` module of the lin build (manifest.json platforms.lin.creation): runs hosts/moddable/lin/main.ts and
// prints each step with trace(), and the XS heap as Moddable's instrumentation counts it (slots, chunks, stack).
// JavaScript: trace and the instrumentation module are Moddable's, outside the repository's Node type-check.
import Instrumentation from "instrumentation";
import { runDemo } from "hosts/moddable/lin/main";

const METERS = ["XS Slot Heap Used", "XS Chunk Heap Used", "XS Stack Used"].map((name) => Instrumentation.map(name));

function memory() {
  const [slots, chunks, stack] = METERS.map((index) => Instrumentation.get(index));
  return `  [slot heap ${slots} B, chunk heap ${chunks} B, stack ${stack} B]`;
}

export default function main() {
  const failures = runDemo((line) => trace(`${line}\n`), memory);
  trace(`lin demo done: ${failures === 0 ? "ok" : `${failures} failures`}\n`);
}
