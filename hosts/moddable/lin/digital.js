// embedded:io/digital on the lin build: the simulator's stand-in (hosts/node/digital.ts), under Moddable's specifier
// so that it shares hosts/node/simworld with the rest of the simulator (one module instance). stackmeter.js counts
// each call the firmware makes as one native call, and each onReadable as an entry from the event loop.
import Digital from "hosts/node/digital";
import { entries, host } from "hosts/moddable/lin/stackmeter";

export default class LinDigital extends Digital {
  constructor(options) {
    host(() => super(entries(options)), undefined, []);
  }
  read(...args) {
    return host(super.read, this, args);
  }
  write(...args) {
    return host(super.write, this, args);
  }
  close(...args) {
    return host(super.close, this, args);
  }
}
