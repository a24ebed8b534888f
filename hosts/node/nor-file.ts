// The NOR simulator's file-backed mode: the flash image lives in a directory and survives the process, so a
// simulated device keeps its journal (and its wear, weak bits and write counts) from one run to the next. Node only.
import fs from "fs";
import path from "path";
import type { ChipProfile } from "../../firmware/storage/flash";
import { NorSim, type NorImage } from "./nor";

/** Files in the directory: the bytes as a raw image, the chip state beside them, the geometry as JSON. */
export const NOR_FILES = { bytes: "nor.bin", state: "nor-state.bin", meta: "nor.json" } as const;

interface _Meta {
  readonly format: 1;
  readonly blockLength: number;
  readonly blocks: number;
  readonly writeAlignment: number;
  readonly counters: { programs: number; erases: number; bytesProgrammed: number };
}

export interface NorDirectoryOptions {
  readonly chip: ChipProfile;
  readonly blocks: number;
  readonly strict?: boolean;
  readonly seed?: number;
}

/**
 * A simulator backed by `dir`: loads the image there (created erased when the directory has none) and saves
 * after every program and erase, torn ones included. Throws when the stored geometry differs from `options`.
 */
export function openNorDirectory(dir: string, options: NorDirectoryOptions): NorSim {
  const { chip, blocks } = options;
  fs.mkdirSync(dir, { recursive: true });
  const metaFile = path.join(dir, NOR_FILES.meta);
  let image: NorImage | undefined;
  let meta: _Meta | undefined;
  if (fs.existsSync(metaFile)) {
    meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as _Meta;
    if (meta.blockLength !== chip.blockLength || meta.blocks !== blocks || meta.writeAlignment !== chip.writeAlignment)
      throw new Error(
        `${dir} holds a ${meta.blocks} x ${meta.blockLength} byte flash with ${meta.writeAlignment}-byte words, ` +
          `not ${blocks} x ${chip.blockLength} with ${chip.writeAlignment}: use another directory or delete it`,
      );
    image = _load(dir, chip, blocks);
  }
  const sim: NorSim = new NorSim({
    chip,
    blocks,
    image,
    strict: options.strict,
    seed: options.seed,
    onChange: () => _save(dir, sim),
  });
  if (meta) Object.assign(sim.counters, meta.counters);
  else _save(dir, sim);
  return sim;
}

function _load(dir: string, chip: ChipProfile, blocks: number): NorImage {
  const size = chip.blockLength * blocks;
  const words = size / chip.writeAlignment;
  const bytes = new Uint8Array(fs.readFileSync(path.join(dir, NOR_FILES.bytes)));
  const state = new Uint8Array(fs.readFileSync(path.join(dir, NOR_FILES.state)));
  if (bytes.length !== size || state.length !== size + words + 4 * blocks)
    throw new Error(`${dir}: the flash image files are truncated; delete the directory to start erased`);
  const erases = new DataView(state.buffer, state.byteOffset + size + words, 4 * blocks);
  return {
    bytes,
    unstable: state.slice(0, size),
    wordWrites: state.slice(size, size + words),
    blockErases: Uint32Array.from({ length: blocks }, (_, i) => erases.getUint32(4 * i, true)),
  };
}

function _save(dir: string, sim: NorSim): void {
  const { bytes, unstable, wordWrites, blockErases } = sim.image;
  const state = new Uint8Array(unstable.length + wordWrites.length + 4 * blockErases.length);
  state.set(unstable, 0);
  state.set(wordWrites, unstable.length);
  const erases = new DataView(state.buffer, unstable.length + wordWrites.length);
  blockErases.forEach((n, i) => erases.setUint32(4 * i, n, true));
  const status = sim.status();
  const meta: _Meta = {
    format: 1,
    blockLength: status.blockLength,
    blocks: status.blocks,
    writeAlignment: status.writeAlignment,
    counters: { ...sim.counters },
  };
  fs.writeFileSync(path.join(dir, NOR_FILES.bytes), bytes);
  fs.writeFileSync(path.join(dir, NOR_FILES.state), state);
  fs.writeFileSync(path.join(dir, NOR_FILES.meta), JSON.stringify(meta, null, 2) + "\n");
}
