// The Moddable entry (issue 6): reads the provisioning record, opens the journal, wires keypad, LED, buzzer and load
// switch (ECMA-419 embedded:io/digital and digitalbank, timer, flash) to the device core. The simulator runs this same
// module on the hosts/node stand-ins, under Node and inside XS.
// The reference: mcconfig type-checks each module on its own, with no include that would find the `otp` typing.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- no import can load an ambient declaration
/// <reference path="./typings/otp.d.ts" />
import Digital from "embedded:io/digital";
import config from "mc/config";
import OTP from "otp";
import { Controller, type DeviceEvent } from "./controller";
import { FeedbackPlayer, patternFor } from "./io/feedback";
import { FRAMES } from "./io/framing";
import { ButtonKeypad, MatrixKeypad, type Keypad } from "./io/keypad";
import { LoadSwitch } from "./io/load";
import { ModdableNor, openFlash } from "./io/norflash";
import { AREAS, type BoardName } from "./provision/board";
import { deviceProtocol } from "./provision/protocol";
import { decodeProvision, RECORD_LENGTH, type ProvisionRecord } from "./provision/record";
import { CHIPS } from "./storage/flash";
import { Journal, journalKey } from "./storage/journal";

/** Keys of the keypad types a provisioning record names, in the record's pin order. */
const KEYS = Object.freeze({ "matrix-4x3": "123456789*0#", "buttons-4": "1234", "buttons-5": "12345" } as const);

export interface StartOptions {
  /** LED for the not-provisioned pattern when there is no record to name one (the board's LED). */
  readonly statusLed?: number;
  /** Load output driven off when there is no record to name one (the board's reference wiring). */
  readonly statusLoad?: number;
  /** Receives what the device does (simulator trace, logs). */
  readonly observe?: (event: DeviceEvent) => void;
  /** The product's hook for Nexus passthrough codes (see ControllerOptions). */
  readonly onPassthrough?: (digits: string) => void;
}

/** A running device. */
export interface Device {
  readonly status: "provisioned" | "not_provisioned";
  /** Hands the device core one key, as the keypad does after debouncing (hosts and benchmarks; a serial keypad). */
  key(key: string): void;
}

const _NO_KEYS = (): void => undefined;

/** Boots the device. Never throws: a device that cannot run shows a pattern with its load off. */
export function start(options: StartOptions = {}): Device {
  const observe = options.observe;
  const found = _readProvision();
  if (found === undefined) {
    // Absent or bad record: the load off. With no record to name its pin, the board's reference pin is driven off,
    // so a floating gate cannot power the load.
    if (options.statusLoad !== undefined)
      new LoadSwitch({ output: new Digital({ pin: options.statusLoad, mode: Digital.Output }) });
    observe?.({ type: "boot", status: "not_provisioned" });
    observe?.({ type: "load", on: false });
    if (options.statusLed !== undefined) {
      new FeedbackPlayer({ led: new Digital({ pin: options.statusLed, mode: Digital.Output }) }).background(
        patternFor("not_provisioned"),
      );
    }
    observe?.({ type: "feedback", pattern: "not_provisioned" });
    return { status: "not_provisioned", key: _NO_KEYS };
  }
  const { record, board } = found;
  const pins = record.pins;
  // The load pin first, driven off, before anything else can fail or take time.
  const load = new LoadSwitch({ output: new Digital({ pin: pins.load, mode: Digital.Output }) });
  const led = new Digital({ pin: pins.led, mode: Digital.Output });
  const buzzer = pins.buzzer === null ? undefined : new Digital({ pin: pins.buzzer, mode: Digital.Output });
  const feedback = new FeedbackPlayer({ led, buzzer });
  let controller: Controller<unknown> | undefined;
  try {
    const { protocol, frame } = deviceProtocol(record);
    // The chip's OTP bits: the never-fresh-twice mark and the rollback anchor (docs/SPEC.md, "Anchor and mark").
    const journal = Journal.mount(new ModdableNor(openFlash(AREAS[board].journal), CHIPS[board]), {
      key: journalKey(record.key),
      otp: new OTP(),
    });
    controller = new Controller({
      protocol,
      journal,
      frame: FRAMES[frame],
      load,
      feedback,
      deviceId: record.deviceId,
      observe,
      onPassthrough: options.onPassthrough,
    });
    _openKeypad(record, (key) => controller?.key(key));
  } catch (e) {
    load.set(false);
    observe?.({ type: "load", on: false });
    observe?.({ type: "fault", reason: e instanceof Error ? e.message : String(e) });
    feedback.background(patternFor("fault"));
    return { status: "provisioned", key: _NO_KEYS };
  }
  controller.boot();
  const running = controller;
  return { status: "provisioned", key: (key) => running.key(key) };
}

/** Moddable calls a main module's default export at start-up. The board's LED and load: manifest.json config. */
export default function main(): void {
  const board = config.solkey as { led?: unknown; load?: unknown } | undefined;
  const pin = (value: unknown) => (typeof value === "number" ? value : undefined);
  start({ statusLed: pin(board?.led), statusLoad: pin(board?.load) });
}

/** The record and the board whose flash holds it, or undefined for a blank, corrupt or misplaced record. */
function _readProvision(): { record: ProvisionRecord; board: BoardName } | undefined {
  for (const board of ["esp32", "nrf52"] as const) {
    let image: Uint8Array;
    try {
      image = new Uint8Array(openFlash(AREAS[board].provision).read(0, RECORD_LENGTH) as ArrayBuffer);
    } catch {
      continue; // not this board's flash layout
    }
    const read = decodeProvision(image);
    // A record for another board would put the journal and pins where this board has something else.
    return read.kind === "provisioned" && read.record.board === board ? { record: read.record, board } : undefined;
  }
  return undefined;
}

function _openKeypad(record: ProvisionRecord, onKey: (key: string) => void): Keypad {
  const lines = record.pins.keypad;
  const onReadable = function (this: Keypad) {
    for (let key = this.read(); key !== undefined; key = this.read()) onKey(key);
  };
  if (record.keypad === "matrix-4x3")
    return new MatrixKeypad({
      rows: lines.slice(0, 4),
      columns: lines.slice(4, 7),
      keys: KEYS[record.keypad],
      onReadable,
    });
  return new ButtonKeypad({ pins: lines, keys: KEYS[record.keypad], onReadable });
}
