// `flash` on the lin build: the simulator's NOR partitions (hosts/node/flash.ts); see digital.js. Each call the
// firmware makes is counted by stackmeter.js as one native call.
import Flash from "hosts/node/flash";
import { metered } from "hosts/moddable/lin/metered";

export default metered(Flash, ["read", "write", "erase"]);
