// The `main` module of the lin build (manifest.json platforms.lin.creation): runs hosts/moddable/lin/main.ts and
// prints each step with trace(), and the XS heap as Moddable's instrumentation counts it (slots, chunks, stack), with
// the firmware's own stack beside it (stackmeter.js: from its entries, the simulator's stand-ins left out).
// JavaScript: trace and the instrumentation module are Moddable's, outside the repository's Node type-check.
import Instrumentation from "instrumentation";
import { runDemo } from "hosts/moddable/lin/main";
import { metered } from "hosts/moddable/lin/metered";
import { overhead, slotBytes, takeDeepest } from "hosts/moddable/lin/stackmeter";

const METERS = ["XS Slot Heap Used", "XS Chunk Heap Used", "XS Stack Used"].map((name) => Instrumentation.map(name));
/** A slot on the 32-bit chips (ESP32, nRF52840): what `creation.stack` counts in. */
const CHIP_SLOT_BYTES = 16;
let deepest = 0;

function memory() {
  const [slots, chunks, stack] = METERS.map((index) => Instrumentation.get(index));
  const own = takeDeepest();
  deepest = Math.max(deepest, own);
  return (
    `  [slot heap ${slots} B, chunk heap ${chunks} B, stack ${stack} B;` +
    ` firmware's own stack ${own} slots = ${own * CHIP_SLOT_BYTES} B on a chip]`
  );
}

/** A stand-in whose one method does nothing, under the shims' shape: what a call into io costs the meter. */
const Probe = metered(
  class {
    call() {}
  },
  ["call"],
);

export default function main() {
  const calls = overhead(new Probe());
  const failures = runDemo((line) => trace(`${line}\n`), memory);
  trace(
    `lin demo done: ${failures === 0 ? "ok" : `${failures} failures`}; firmware's own stack at most ${deepest} ` +
      `slots (${deepest * slotBytes()} B here, ${deepest * CHIP_SLOT_BYTES} B on a chip); a call into a stand-in ` +
      `counts ${calls} slots above a native call (${calls * CHIP_SLOT_BYTES} B on a chip)\n`,
  );
}
