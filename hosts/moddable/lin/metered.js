// metered(): a simulator stand-in (hosts/node) as the lin build's shims put it under a Moddable specifier, its
// constructor, methods and getters each counted by stackmeter.js as one native call, as Moddable's io is on a chip,
// and an `onReadable` in its options run as an entry from the event loop. One shape for flash.js, digital.js,
// digitalbank.js and otp.js (each repeated it by hand). Plain JavaScript that XS preloads: no native call at import.
import { entries, host } from "hosts/moddable/lin/stackmeter";

/** The descriptor of `name` on `proto` or the nearest prototype above it that has one. */
function lookup(proto, name) {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p)) {
    const found = Object.getOwnPropertyDescriptor(p, name);
    if (found !== undefined) return found;
  }
  throw new TypeError(`metered: ${name} is not on the stand-in`);
}

/** A subclass of `Base` whose constructor and each of `members` (methods or getters of Base) run through host(). */
export function metered(Base, members) {
  class Metered extends Base {
    constructor(options, ...rest) {
      host(() => super(entries(options), ...rest), undefined, []);
    }
  }
  for (const name of members) {
    const inherited = lookup(Base.prototype, name);
    const own = { configurable: true, enumerable: false };
    if (inherited.get !== undefined) {
      const get = inherited.get;
      own.get = function () {
        return host(get, this, []);
      };
    } else {
      const method = inherited.value;
      own.writable = true;
      own.value = function (...args) {
        return host(method, this, args);
      };
    }
    Object.defineProperty(Metered.prototype, name, own);
  }
  return Metered;
}
