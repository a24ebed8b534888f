// `solkey hub`: the payment hub's HTTP service (hub/app.ts) on a fleet database, configured from the environment
// (and an optional .env-style file); runs until SIGINT/SIGTERM, then closes the listener and the store cleanly.
import type { Command } from "commander";
import { openApiKeys } from "../../fleet/apikeys";
import { UsageError } from "../../fleet/errors";
import { parseWhole } from "../../fleet/profile";
import { openStore, SECRET_KEY_OPTION } from "../store";
import { buildApp } from "../../hub/app";
import { parseConfig, readEnvFile } from "../../hub/config";
import { logOutboxEvent, startSms } from "../../hub/sms/service";
import { consolePage, simPage } from "../../web/server";
import { prepareDemo } from "./hubdemo";
import { DEFAULT_DB } from "./provision";

interface HubOptions {
  db: string;
  port: string;
  host: string;
  envFile?: string;
  demo?: boolean;
}

/** How often held credit is looked at again (window rule: it waits for codes to age into "entered"). */
const RELEASE_EVERY_MS = 60_000;

export async function runHub(o: HubOptions, err: (t: string) => void): Promise<void> {
  const port = parseWhole(o.port, 0, 65535, "--port");
  const demo = o.demo ? await prepareDemo() : undefined;
  const env = { ...(o.envFile === undefined ? {} : readEnvFile(o.envFile)), ...process.env, ...demo?.env };
  if (demo !== undefined) o = { ...o, db: demo.db };
  const config = parseConfig(env);
  const sms = startSms({ db: o.db, env, onEvent: (event) => logOutboxEvent(app.log, event) });
  const store = await openStore(o, {
    enteredAfterDays: config.enteredAfterDays,
    countryCode: config.countryCode,
    ...sms.hooks,
  }).catch(async (e: unknown) => {
    await sms.stop();
    throw e;
  });
  const apiKeys = await openApiKeys(o.db).catch(async (e: unknown) => {
    await sms.stop();
    await store.close();
    throw e;
  });
  const app = buildApp({
    config,
    store,
    routes: sms.routes,
    apiKeys,
    smsReader: sms.reader,
    simPage: simPage(),
    consolePage: consolePage(),
  });
  sms.start();
  if (config.mpesaAllow.length === 0)
    app.log.warn("SOLKEY_MPESA_ALLOW is empty: any address that knows the token may post M-Pesa callbacks");
  try {
    await app.listen({ port, host: o.host });
  } catch (e) {
    await sms.stop();
    await store.close();
    await apiKeys.close();
    throw new UsageError(`cannot listen on ${o.host}:${port}: ${(e as Error).message}`);
  }
  const { port: bound } = app.server.address() as { port: number };
  err(
    `solkey hub: listening on http://${o.host}:${bound} (device simulator at /sim/, operator console at /console/)\n`,
  );
  if (demo !== undefined)
    err(
      `solkey hub --demo: a throwaway fleet in ${demo.db}; post a payment:\n${demo.curls(bound)}` +
        `and watch it at http://${o.host}:${bound}/console/ (sign in with ${demo.consoleKey})\n`,
    );
  const timer = setInterval(() => {
    store.releaseHeld().catch((e: Error) => app.log.error({ err: e }, "releasing held credit failed"));
  }, RELEASE_EVERY_MS);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      err(`solkey hub: ${signal}, closing\n`);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  clearInterval(timer);
  await app.close();
  await sms.stop();
  await store.close();
  await apiKeys.close();
  demo?.remove();
}

export function register(program: Command): void {
  program
    .command("hub")
    .description("the payment hub: M-Pesa C2B and signed-webhook payments in, each the device's next code once")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--port <n>", "TCP port", "8080")
    .option("--host <address>", "address to listen on (a TLS proxy in front for Daraja)", "127.0.0.1")
    .option("--env-file <file>", "KEY=VALUE settings (the environment wins)")
    .option("--demo", "a throwaway fleet of 3 devices, SMS printed (log driver), and curl lines that post a payment")
    .addHelpText(
      "after",
      "\nSettings (environment):\n" +
        "  SOLKEY_MPESA_TOKEN        required: secret path token of /c2b/<token>/validation and /confirmation\n" +
        "  SOLKEY_MPESA_SHORTCODES   required: short codes served, comma-separated\n" +
        "  SOLKEY_MPESA_ALLOW        addresses/CIDRs Daraja calls from (empty: any, with a warning)\n" +
        "  SOLKEY_TRUSTED_PROXIES    proxies whose X-Forwarded-For is believed\n" +
        "  SOLKEY_WEBHOOK_SECRET     enables POST /webhook/<provider> (HMAC-SHA-256, >= 32 chars)\n" +
        "  SOLKEY_ENTERED_AFTER_DAYS window rule: a code delivered this long ago counts as entered (3)\n" +
        "  SOLKEY_COUNTRY_CODE       for local numbers typed as account (254)\n" +
        "  SOLKEY_API_PER_MINUTE     operator API requests a minute per key before 429 (600)\n" +
        "  SOLKEY_LOG_LEVEL          pino level (info)\n" +
        "  SOLKEY_SMS_URL, _USERNAME, _API_KEY, _FROM  Africa's Talking (unset: the log driver prints each SMS)\n" +
        "  SOLKEY_SMS_TOKEN          enables POST /sms/<token>/delivery and /sms/<token>/inbound (AT callbacks)\n",
    )
    .action((o: HubOptions) => runHub(o, (t) => process.stderr.write(t)));
}
