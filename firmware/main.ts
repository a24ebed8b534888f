// The Moddable entry (issue 6): reads the provisioning record, opens the journal, wires keypad, LED, buzzer and load
// switch (ECMA-419 embedded:io/digital and digitalbank, timer, flash) to the device core. The simulator runs this same
// module on the hosts/node stand-ins, under Node and inside XS.
import Digital from "embedded:io/digital";
import config from "mc/config";
import { Controller, type DeviceEvent } from "./controller";
import { FeedbackPlayer, patternFor } from "./io/feedback";
import { FRAMES, type FrameName } from "./io/framing";
import { ButtonKeypad, MatrixKeypad, type Keypad } from "./io/keypad";
import { LoadSwitch } from "./io/load";
import { ModdableNor, openFlash, type FlashArea } from "./io/norflash";
import { decodeProvision, RECORD_LENGTH, type ProvisionRecord } from "./provision/record";
import { BOARDS, type BoardName } from "./provision/board";
import { nexusFull } from "./protocols/nexus/full_device";
import { nexusSmall } from "./protocols/nexus/small_device";
import { openPaygo } from "./protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "./protocols/protocol";
import { CHIPS } from "./storage/flash";
import { Journal } from "./storage/journal";

/**
 * Flash areas per board. ESP32: partitions by label (hosts/moddable/esp32/partitions.csv); nRF52: address ranges
 * below the provisioning page (firmware/provision/board.ts). The journal gets 4 sectors on ESP32 and 2 pages on nRF52.
 */
export const AREAS: Readonly<Record<BoardName, { readonly provision: FlashArea; readonly journal: FlashArea }>> = {
  esp32: { provision: { partition: "solkey_prov" }, journal: { partition: "solkey_jrnl" } },
  nrf52: {
    provision: { offset: BOARDS.nrf52.provisionOffset, size: BOARDS.nrf52.provisionSize },
    journal: { offset: BOARDS.nrf52.provisionOffset - 0x2000, size: 0x2000 },
  },
};

/** Keys of the keypad types a provisioning record names, in the record's pin order. */
const KEYS = { "matrix-4x3": "123456789*0#", "buttons-4": "1234", "buttons-5": "12345" } as const;

export interface StartOptions {
  /** LED for the not-provisioned pattern when there is no record to name one (the board's LED). */
  readonly statusLed?: number;
  /** Receives what the device does (simulator trace, logs). */
  readonly observe?: (event: DeviceEvent) => void;
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
    const journal = Journal.mount(new ModdableNor(openFlash(AREAS[board].journal), CHIPS[board]));
    controller = new Controller({
      protocol,
      journal,
      frame: FRAMES[frame],
      load,
      feedback,
      deviceId: record.deviceId,
      observe,
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

/** Moddable calls a main module's default export at start-up. The board's LED: manifest.json platform config. */
export default function main(): void {
  const led: unknown = (config.solkey as { led?: unknown } | undefined)?.led;
  start({ statusLed: typeof led === "number" ? led : undefined });
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

/** The verifier and entry frame a record asks for (also used by the simulator to read a device's state). */
export function deviceProtocol(record: ProvisionRecord): { protocol: KeycodeProtocol<unknown>; frame: FrameName } {
  switch (record.protocol) {
    case "openpaygo": {
      const { key, startingCode, timeDivider, restricted, extended } = record;
      const protocol = openPaygo({ key, startingCode, timeDivider, restricted, extended });
      const frame = !restricted ? "openpaygo" : extended ? "openpaygo-restricted-extended" : "openpaygo-restricted";
      return { protocol: protocol as KeycodeProtocol<unknown>, frame };
    }
    case "nexus-full":
      return {
        protocol: nexusFull({ key: record.key, deviceId: record.deviceId }) as KeycodeProtocol<unknown>,
        frame: "nexus-full",
      };
    case "nexus-small": {
      const enableExtendedSmallMessage = record.extendedSmallMessage;
      const protocol = nexusSmall({ key: record.key, enableExtendedSmallMessage });
      return { protocol: protocol as KeycodeProtocol<unknown>, frame: "nexus-small" };
    }
  }
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
