// The simulator's demo devices: one fixed, public demo key per protocol, and the next valid codes for a demo device
// computed from its own flash with solkey's encoders (the same code an operator's server would issue).
import {
  CHIPS,
  decodeProvision,
  deviceProtocol,
  encodeFull,
  encodeProvision,
  encodeSmall,
  Journal,
  mountedDevice,
  regionStatus,
  TokenIssuer,
  type FlashStatus,
  type NexusState,
  type NorFlash,
  type OpenPaygoState,
  type ProvisionRecord,
} from "./simfirmware";
import { journalKey } from "../../firmware/storage/journal";
import { NO_OTP } from "../../firmware/storage/otp";
import config from "./simconfig";

/** "solkey-demo-key!": public, for demonstrations only. A real device's key comes from `solkey provision`. */
export const DEMO_KEY = new Uint8Array([...("solkey-demo-key!" as string)].map((c) => c.charCodeAt(0)));
export const DEMO_DEVICE_ID = 12345678;
export const DEMO_STARTING_CODE = 123456789;

export type DemoProtocol = "openpaygo" | "nexus-full" | "nexus-small";
export const DEMO_PROTOCOLS: readonly DemoProtocol[] = ["openpaygo", "nexus-full", "nexus-small"];

/** The simulated board's wiring: the ESP32 reference wiring of manifest.json. */
const { matrix: MATRIX_PINS, buttons: BUTTON_PINS, load, led, buzzer } = config.solkey;
const PINS = { load, led, buzzer };

/** The provisioning record of the demo device for `protocol` (the keypad that protocol is sold with). */
export function demoRecord(protocol: DemoProtocol): ProvisionRecord {
  const base = { deviceId: DEMO_DEVICE_ID, key: DEMO_KEY, board: "esp32" as const };
  if (protocol === "openpaygo")
    return {
      ...base,
      protocol,
      startingCode: DEMO_STARTING_CODE,
      timeDivider: 1,
      extended: false,
      restricted: false,
      keypad: "matrix-4x3",
      pins: { keypad: MATRIX_PINS, ...PINS },
    };
  if (protocol === "nexus-full")
    return { ...base, protocol, keypad: "matrix-4x3", pins: { keypad: MATRIX_PINS, ...PINS } };
  return {
    ...base,
    protocol,
    extendedSmallMessage: false,
    keypad: "buttons-5",
    pins: { keypad: BUTTON_PINS, ...PINS },
  };
}

export function demoProvision(protocol: DemoProtocol): Uint8Array {
  return encodeProvision(demoRecord(protocol));
}

/** A code to type, what it does, and how it is typed on this keypad. */
export interface DemoCode {
  readonly what: string;
  readonly keys: string;
}

/**
 * The next codes the demo "server" would issue for a device, from the device's own replay state (a real server keeps
 * its own ledger: `solkey issue`). Only for a device provisioned with the demo key.
 */
export function nextCodes(provision: Uint8Array, journal: Uint8Array): DemoCode[] | undefined {
  const read = decodeProvision(provision);
  if (read.kind !== "provisioned" || !_same(read.record.key, DEMO_KEY)) return undefined;
  const record = read.record;
  const { protocol } = deviceProtocol(record);
  // Read only, for the demo's replay state: no OTP, so a v1 image and the newest v2 record both read.
  const mounted = Journal.mount(new _ReadOnlyNor(journal, CHIPS[record.board]), {
    key: journalKey(record.key),
    otp: NO_OTP,
  }).mounted;
  const device = mountedDevice(protocol, mounted);
  if (device === undefined) return undefined; // a locked device takes no codes
  const replay = device.protocol;
  if (record.protocol === "openpaygo") {
    const issuer = new TokenIssuer({ key: DEMO_KEY, startingCode: record.startingCode, restricted: record.restricted });
    let count = (replay as OpenPaygoState).lastCount;
    const token = (type: "add_time" | "disable_payg", value?: number) => {
      const issued = issuer.issue({ count, type, value });
      count = issued.count;
      return record.restricted ? issued.token : `*${issued.token}#`;
    };
    return [
      { what: "add 1 day", keys: token("add_time", record.timeDivider) },
      { what: "add 7 days", keys: token("add_time", 7 * record.timeDivider) },
      { what: "unlock for ever (older codes then count as used)", keys: token("disable_payg") },
    ];
  }
  let id = (replay as NexusState).highest;
  if (record.protocol === "nexus-full") {
    return [
      { what: "add 1 hour", keys: encodeFull({ type: "add_credit", key: DEMO_KEY, id: ++id, hours: 1 }) },
      { what: "add 1 day", keys: encodeFull({ type: "add_credit", key: DEMO_KEY, id: ++id, hours: 24 }) },
      {
        what: "unlock for ever (older codes then count as used)",
        keys: encodeFull({ type: "unlock", key: DEMO_KEY, id: ++id }),
      },
    ];
  }
  return [
    { what: "add 1 day", keys: encodeSmall({ type: "add_credit", key: DEMO_KEY, id: ++id, days: 1 }) },
    { what: "add 7 days", keys: encodeSmall({ type: "add_credit", key: DEMO_KEY, id: ++id, days: 7 }) },
    {
      what: "unlock for ever (older codes then count as used)",
      keys: encodeSmall({ type: "unlock", key: DEMO_KEY, id: ++id }),
    },
  ];
}

/** `n` add-credit codes of one day (Nexus full: one hour) for a fresh demo device, in issue order. */
export function demoAddCodes(protocol: DemoProtocol, n: number): string[] {
  const codes: string[] = [];
  if (protocol === "openpaygo") {
    const issuer = new TokenIssuer({ key: DEMO_KEY, startingCode: DEMO_STARTING_CODE });
    let count = 1; // a fresh device's last count (firmware/protocols/openpaygo/replay.ts INITIAL_STATE)
    for (let i = 0; i < n; i++) {
      const issued = issuer.issue({ count, type: "add_time", value: 1 });
      count = issued.count;
      codes.push(`*${issued.token}#`);
    }
    return codes;
  }
  // A fresh Nexus window sits at 23: IDs from 24 on are new.
  for (let id = 24; id < 24 + n; id++)
    codes.push(
      protocol === "nexus-full"
        ? encodeFull({ type: "add_credit", key: DEMO_KEY, id, hours: 1 })
        : encodeSmall({ type: "add_credit", key: DEMO_KEY, id, days: 1 }),
    );
  return codes;
}

function _same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Journal bytes as NOR flash for reading (mount only reads). */
class _ReadOnlyNor implements NorFlash {
  private readonly info: FlashStatus;

  constructor(
    private readonly bytes: Uint8Array,
    chip: (typeof CHIPS)["esp32"],
  ) {
    this.info = regionStatus(chip, Math.floor(bytes.length / chip.blockLength));
  }

  status(): FlashStatus {
    return this.info;
  }

  read(byteLength: number, byteOffset: number): ArrayBuffer {
    return this.bytes.slice(byteOffset, byteOffset + byteLength).buffer;
  }

  write(): void {
    throw new Error("read-only flash");
  }

  eraseBlock(): void {
    throw new Error("read-only flash");
  }
}
