// embedded:io/digitalbank on the lin build: the simulator's stand-in (hosts/node/digitalbank.ts); see digital.js.
import DigitalBank from "hosts/node/digitalbank";
import { metered } from "hosts/moddable/lin/metered";

export default metered(DigitalBank, ["read", "write", "close"]);
