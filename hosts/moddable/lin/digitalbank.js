// embedded:io/digitalbank on the lin build: the simulator's stand-in (hosts/node/digitalbank.ts); see digital.js.
import DigitalBank from "hosts/node/digitalbank";
import { entries, host } from "hosts/moddable/lin/stackmeter";

export default class LinDigitalBank extends DigitalBank {
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
