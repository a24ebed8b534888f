// A real `solkey hub` process with data for the operator console: the demo fleet (tools/commands/hubdemo.ts: three
// Nexus full devices with accounts on a daily plan) and one Nexus small device (whose set codes cannot carry every
// amount: the desired-state form's add and refusal), SMS through the Africa's Talking stand-in (delivery reports posted
// back), API keys of each scope, and Daraja-shaped C2B confirmations posted to it. For the console's browser tests
// (test/console.test.ts) and `npm run screenshots`.
import { openApiKeys, type Scope } from "../fleet/apikeys";
import { openFleet } from "../fleet/database";
import { provisionBatch, type ProvisionedDevice } from "../fleet/devices";
import { makeProfile } from "../fleet/profile";
import { SqliteStore } from "../fleet/sqlitestore";
import { AtStandIn, type AtDeliveryStatus } from "../hub/sms/standin";
import { prepareDemo, type Demo } from "./commands/hubdemo";
import { buildCli, startHub, type HubProcess } from "./hubprocess";

const SMS_TOKEN = "console-sms-t0k3n-0123456789";

export interface ConsoleHub {
  /** The hub's address, e.g. http://127.0.0.1:41234 (the console is at /console/). */
  readonly url: string;
  /** The serials of `devices`: the demo's three Nexus full devices, then the Nexus small one. */
  readonly serials: readonly string[];
  /** As the factory made them: a simulated controller boots one (hosts/node/simdevice.ts). */
  readonly devices: readonly ProvisionedDevice[];
  readonly standin: AtStandIn;
  /** A new API key of `scope` (made in the fleet database, as `solkey apikey create` does). */
  key(scope: Scope): Promise<string>;
  /** Posts a C2B confirmation as Daraja does; resolves to the HTTP status. */
  pay(transId: string, amount: string, reference: string, firstName?: string): Promise<number>;
  /** Waits for the stand-in to have sent `count` SMS, then reports each one's delivery `status` to the hub. */
  deliver(count: number, status: AtDeliveryStatus): Promise<void>;
  stop(): Promise<void>;
}

/** Provisions a Nexus small device into the demo's fleet, with an account on the demo's plan. */
async function addSmallDevice(demo: Demo): Promise<ProvisionedDevice> {
  const db = openFleet(demo.db);
  let device: ProvisionedDevice;
  try {
    [device] = provisionBatch(db, demo.db, {
      profile: makeProfile({ protocol: "nexus-small" }),
      count: 1,
      master: null,
    }).devices;
  } finally {
    db.close();
  }
  const store = SqliteStore.open(demo.db);
  try {
    await store.addAccount({ device: device.serial, phone: "254700000009", plan: "daily", language: "en" });
  } finally {
    await store.close();
  }
  return device;
}

/**
 * Builds dist/ (the process runs the code under test) and starts the hub on a fresh demo fleet; `env`: more settings
 * (SOLKEY_API_PER_MINUTE for the rate limit's test).
 */
export async function startConsoleHub(env: Record<string, string> = {}): Promise<ConsoleHub> {
  buildCli();
  const demo: Demo = await prepareDemo();
  const standin = await AtStandIn.start();
  let hub: HubProcess;
  let devices: ProvisionedDevice[];
  try {
    devices = [...demo.devices, await addSmallDevice(demo)];
    hub = await startHub(demo.db, {
      ...demo.env,
      SOLKEY_SMS_DRIVER: "africastalking",
      SOLKEY_SMS_URL: standin.url,
      SOLKEY_SMS_USERNAME: standin.username,
      SOLKEY_SMS_API_KEY: standin.apiKey,
      SOLKEY_SMS_TOKEN: SMS_TOKEN,
      SOLKEY_LOG_LEVEL: "warn",
      ...env,
    });
  } catch (e) {
    await standin.close();
    demo.remove();
    throw e;
  }
  const url = `http://127.0.0.1:${hub.port}`;
  return {
    url,
    serials: devices.map((d) => d.serial),
    devices,
    standin,
    async key(scope) {
      const keys = await openApiKeys(demo.db);
      try {
        return (await keys.create(scope, `console ${scope}`)).key;
      } finally {
        await keys.close();
      }
    },
    async pay(transId, amount, reference, firstName = "Amina") {
      const response = await fetch(`${url}/c2b/${demo.env.SOLKEY_MPESA_TOKEN}/confirmation`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(demo.confirmation(transId, amount, reference, firstName)),
      });
      return response.status;
    },
    async deliver(count, status) {
      for (const until = Date.now() + 20_000; standin.sent.length < count;) {
        if (Date.now() > until) throw new Error(`the stand-in has ${standin.sent.length} SMS, expected ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const sms of standin.sent.slice(0, count)) {
        const answered = await standin.report(sms.messageId, status, undefined, `${url}/sms/${SMS_TOKEN}/delivery`);
        if (answered !== 200) throw new Error(`the hub answered ${answered} to a delivery report`);
      }
    },
    async stop() {
      if (hub.child.exitCode === null) hub.child.kill("SIGTERM");
      await hub.exited;
      await standin.close();
      demo.remove();
    },
  };
}
