// `timer` on the lin build: the simulator's virtual clock (hosts/node/timer.ts), so the demo runs a day in moments.
// stackmeter.js counts each call the firmware makes as one native call, and each callback as an event-loop entry.
import Timer from "hosts/node/timer";
import { entered, host } from "hosts/moddable/lin/stackmeter";

export default class LinTimer {
  static set(callback, ...args) {
    return host(Timer.set, Timer, [entered(callback), ...args]);
  }
  static repeat(callback, ...args) {
    return host(Timer.repeat, Timer, [entered(callback), ...args]);
  }
  static schedule(...args) {
    return host(Timer.schedule, Timer, args);
  }
  static clear(...args) {
    return host(Timer.clear, Timer, args);
  }
  static delay(...args) {
    return host(Timer.delay, Timer, args);
  }
}
