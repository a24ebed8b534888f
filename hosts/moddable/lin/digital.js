// embedded:io/digital on the lin build: the simulator's stand-in (hosts/node/digital.ts), under Moddable's specifier
// so that it shares hosts/node/simworld with the rest of the simulator (one module instance). metered.js counts
// each call the firmware makes as one native call, and each onReadable as an entry from the event loop.
import Digital from "hosts/node/digital";
import { metered } from "hosts/moddable/lin/metered";

export default metered(Digital, ["read", "write", "close"]);
