// `flash` on the lin build: the simulator's NOR partitions (hosts/node/flash.ts); see digital.js. Each call the
// firmware makes is counted by stackmeter.js as one native call.
import Flash from "hosts/node/flash";
import { host } from "hosts/moddable/lin/stackmeter";

export default class LinFlash extends Flash {
  constructor(...args) {
    host(() => super(...args), undefined, []);
  }
  read(...args) {
    return host(super.read, this, args);
  }
  write(...args) {
    return host(super.write, this, args);
  }
  erase(...args) {
    return host(super.erase, this, args);
  }
}
