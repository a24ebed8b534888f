// Stand-in for Moddable's `flash` module over a partition of the simulated board (hosts/node/simworld.ts), with NOR
// rules: erase sets a block to 0xFF, writing can only clear bits. Pure TypeScript, for Node and XS alike.
import { world, type Partition } from "./simworld";

type BufferLike = ArrayBuffer | ArrayBufferView;

/** A partition, by label as on an ESP32 (`new Flash("solkey_prov")`) or by address range as on an nRF52. */
class Flash {
  private readonly partition: Partition;

  constructor(partition: string | number, byteLength?: number) {
    const partitions = [...world().partitions.entries()];
    const found =
      typeof partition === "string"
        ? world().partitions.get(partition)
        : partitions.find(([, p]) => p.offset === partition && p.bytes.length === byteLength)?.[1];
    if (!found) throw new Error(`flash partition ${JSON.stringify(partition)} not found`);
    this.partition = found;
  }

  get byteLength(): number {
    return this.partition.bytes.length;
  }

  get blockSize(): number {
    return this.partition.blockSize;
  }

  read(offset: number, byteLength: number): ArrayBuffer {
    this.check(offset, byteLength);
    return this.partition.bytes.slice(offset, offset + byteLength).buffer;
  }

  write(offset: number, byteLength: number, buffer: BufferLike): void {
    this.check(offset, byteLength);
    const source = ArrayBuffer.isView(buffer)
      ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
      : new Uint8Array(buffer);
    if (source.length < byteLength) throw new RangeError(`flash write of ${byteLength} bytes from ${source.length}`);
    this.partition.beforeMutation?.("write");
    const bytes = this.partition.bytes;
    for (let i = 0; i < byteLength; i++) bytes[offset + i] &= source[i];
    this.partition.mutations++;
  }

  erase(sector: number): void {
    const size = this.partition.blockSize;
    if (!Number.isInteger(sector) || sector < 0 || (sector + 1) * size > this.byteLength)
      throw new RangeError(`flash erase of sector ${sector}`);
    this.partition.beforeMutation?.("erase");
    this.partition.bytes.fill(0xff, sector * size, (sector + 1) * size);
    this.partition.mutations++;
  }

  private check(offset: number, byteLength: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(byteLength) || offset < 0 || byteLength < 0)
      throw new RangeError(`flash access at ${offset}+${byteLength}`);
    if (offset + byteLength > this.byteLength)
      throw new RangeError(`flash access at ${offset}+${byteLength} past ${this.byteLength}`);
  }
}

export default Flash;
