// Probe: the firmware's provisioning reader over hex images, identical under Node (imported) and XS (bundled).
import { bytesToHex, hexToBytes } from "../../firmware/hex";
import { decodeProvision } from "../../firmware/provision/record";

/** Each image's read as JSON-able data (the key as hex). */
export function readImages(images: string[]): unknown[] {
  return images.map((hex) => {
    const read = decodeProvision(hexToBytes(hex));
    return read.kind === "provisioned"
      ? { ...read, record: { ...read.record, key: bytesToHex(read.record.key) } }
      : read;
  });
}
