// The load switch (the customer's lights and sockets) on an ECMA-419 Digital output. Off from construction: the
// device core turns it on only once the state is mounted and says so, and off again on any fault.
import type Digital from "embedded:io/digital";

export interface LoadOptions {
  readonly output: Digital;
  /** Level that powers the load (a P-channel high-side switch is active low). */
  readonly activeLevel?: 0 | 1;
}

export class LoadSwitch {
  private on = false;
  private readonly activeLevel: 0 | 1;

  constructor(private readonly options: LoadOptions) {
    this.activeLevel = options.activeLevel ?? 1;
    this.write(false);
  }

  get isOn(): boolean {
    return this.on;
  }

  set(on: boolean): void {
    this.on = on;
    this.write(on);
  }

  private write(on: boolean): void {
    this.options.output.write(on ? this.activeLevel : ((1 - this.activeLevel) as 0 | 1));
  }
}
