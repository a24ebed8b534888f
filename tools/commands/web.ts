// `solkey web`: serves the device simulator page (web/server.ts) until interrupted. The page is built once at start.
import type { Command } from "commander";
import { UsageError } from "../../fleet/errors";
import { startWebServer } from "../../web/server";

interface WebOptions {
  port: string;
  host: string;
}

export function register(program: Command): void {
  program
    .command("web")
    .description("serve the device simulator page: a controller running solkey's firmware in the browser")
    .option("--port <n>", "TCP port (0: any free port)", "8080")
    .option(
      "--host <address>",
      "address to listen on (another than loopback shows the page to the network)",
      "127.0.0.1",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  solkey web                      http://127.0.0.1:8080/" +
        "\n  solkey web --port 9000\n\nThe device's flash stays in the browser (localStorage): a reload is a power cycle.",
    )
    .action(async (o: WebOptions) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65_535) throw new UsageError(`--port expected 0-65535, got ${o.port}`);
      let server;
      try {
        server = await startWebServer({ port, host: o.host });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") throw new UsageError(`port ${port} is in use: pass another --port (0 picks one)`);
        if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EACCES")
          throw new UsageError(`cannot listen on ${o.host}:${port} (${code}): pass another --host or --port`);
        throw e;
      }
      const { page } = server;
      process.stdout.write(
        `solkey web: device simulator at ${server.url}  (sim.js ${page.bundleBytes} bytes, ` +
          `${page.bundleGzipBytes} gzipped, built in ${Math.round(page.buildMs)} ms; Ctrl-C stops)\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void server.close().then(resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
