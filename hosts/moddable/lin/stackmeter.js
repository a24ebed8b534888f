// The lin build's measure of the firmware's own XS stack (issue 20): the stack the firmware itself needs from each
// of its entries (main, a timer, a pin's onReadable), the simulator's stand-ins left out. The shims that put the
// stand-ins under Moddable's specifiers (metered.js for flash.js, digital.js, digitalbank.js and otp.js; timer.js) run
// each call the firmware makes into them through host(), and each callback they make into the firmware through entry().
// On a chip those calls are Moddable's native io: one host-function frame, and its callbacks start from the event
// loop, near the bottom of the stack. Here the harness (SimDevice, the simulated board and clock) sits below the
// firmware and the stand-ins' own frames above it; XS's high-water mark ("XS Stack Used") counts both.
// Counting: entry() sets the mark to the depth at the entry and reads how far the firmware took it; host() counts the
// depth at the call (which holds this module's and the shim's frames and depth()'s host frame: more than one native
// call costs, so the figure errs high) and then sets the mark back, so nothing the stand-in did below is counted.
function depth() @ "xs_stackmeter_depth";
function peak() @ "xs_stackmeter_peak";
function setPeak(slots) @ "xs_stackmeter_set_peak";
function slotBytes() @ "xs_stackmeter_slot_bytes";

/**
 * Whether XS keeps a high-water mark on this build (debug builds); elsewhere entry() and host() only call through.
 * Asked at the first call, not at import: a module the build preloads may not call a native function then.
 */
let metered;
/** Where the firmware was entered (slots in use), or -1 while no firmware code runs (or inside a stand-in). */
let base = -1;
/** The deepest the firmware went above its entry, in slots, since the last reset(). */
let deepest = 0;
/** The depth host() counted at its latest call. */
let lastCall = 0;

/** Runs `fn` as the firmware entered from the event loop; its depth is counted from here. */
export function entry(fn, self, args) {
  if (!(metered ??= peak() >= 0) || base >= 0) return fn.apply(self, args); // nested: the firmware calling back into itself
  const saved = peak();
  base = depth();
  setPeak(base);
  try {
    return fn.apply(self, args);
  } finally {
    deepest = Math.max(deepest, peak() - base);
    base = -1;
    setPeak(Math.max(saved, peak()));
  }
}

/** Runs the stand-in `fn` the firmware called: counted as one native call, its insides not. */
export function host(fn, self, args) {
  if (!(metered ??= peak() >= 0) || base < 0) return fn.apply(self, args); // the harness driving the board, not the firmware
  const at = depth();
  lastCall = at;
  const saved = Math.max(peak(), at);
  const outer = base;
  base = -1; // a callback the stand-in makes (the clock running timers) is a new entry, as from a chip's event loop
  try {
    return fn.apply(self, args);
  } finally {
    base = outer;
    setPeak(saved);
  }
}

/** `callback` (a timer's), run as an entry from the event loop. */
export function entered(callback) {
  return function (...args) {
    return entry(callback, this, args);
  };
}

/** io options with their onReadable run as an entry from the event loop; any other argument as it is. */
export function entries(options) {
  return options?.onReadable === undefined ? options : { ...options, onReadable: entered(options.onReadable) };
}

/** The firmware's deepest stack since the last reset, in slots, and resets it. */
export function takeDeepest() {
  const slots = deepest;
  deepest = 0;
  return slots;
}

export { slotBytes };

/**
 * The slots a call into a stand-in counts above a native call made at the same point (the shim's and host()'s
 * frames): how far the figure can err high when the firmware's deepest point is a call into io. `probe` is a shim
 * of the stand-ins' shape (metered.js) with a `call` method.
 */
export function overhead(probe) {
  let native = 0;
  entry(
    () => {
      native = depth();
      probe.call();
    },
    undefined,
    [],
  );
  takeDeepest();
  return lastCall - native;
}
