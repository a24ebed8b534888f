// A progress bar on stderr (cli-progress) for long commands. cli-progress is loaded at the bar's first start, not
// at every start of the command line (measured: ~3 ms of each `solkey` start, `npm run bench -- startup`).
import type { SingleBar } from "cli-progress";
import { createRequire } from "module";

export interface Progress {
  start(total: number, value: number): void;
  update(value: number): void;
  /** Ends the bar; does nothing if it never started, or was stopped before. */
  stop(): void;
}

/** A bar drawn with `format` (cli-progress tokens: {bar} {value} {total} {eta}) once started. */
export function progressBar(format: string): Progress {
  let bar: SingleBar | undefined;
  return {
    start(total, value) {
      const { SingleBar, Presets } = createRequire(__filename)("cli-progress") as typeof import("cli-progress");
      bar ??= new SingleBar({ format, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
      bar.start(total, value);
    },
    update: (value) => bar?.update(value),
    stop: () => bar?.stop(),
  };
}
