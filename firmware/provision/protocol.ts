// The keycode protocol and keypad entry frame a provisioning record names: one mapping for the device (main.ts), the
// simulator and the factory tools, so all three read a device's state exactly as it does.
import type { FrameName } from "../io/framing";
import { nexusFull } from "../protocols/nexus/full_device";
import { nexusSmall } from "../protocols/nexus/small_device";
import { openPaygo } from "../protocols/openpaygo/verifier";
import type { KeycodeProtocol } from "../protocols/protocol";
import type { ProvisionRecord } from "./record";

/** The verifier and entry frame `record` asks for. */
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
