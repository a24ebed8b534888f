// The browser host without a browser: the flash and the chip's OTP bits kept in a Web Storage (a Map here) across page
// loads, the images a person may drop on the page, and the server's answers and headers. test/web.test.ts runs the same in Chromium.
import fc from "fast-check";
import { segmentsToIntelHex } from "../hosts/ihex";
import { BrowserDevice } from "../hosts/browser/device";
import { deviceFromFiles } from "../hosts/browser/images";
import type { KeyValueStore } from "../hosts/browser/store";
import { DEMO_KEY, demoProvision, nextCodes } from "../hosts/node/simdemo";
import { CHIP_OTP_BITS, OtpSim } from "../hosts/node/otp";
import { hexToBytes } from "../firmware/hex";
import { encodeFull } from "../firmware/protocols/nexus/full";
import { anchorStep } from "../firmware/storage/journal";
import { anchorCount } from "../firmware/storage/otp";
import { SIM_LAYOUTS } from "../hosts/node/simdevice";
import { encodeProvision, decodeProvision } from "../firmware/provision/record";
import { buildApp } from "../hub/app";
import { openApiKeys } from "../fleet/apikeys";
import { CONTENT_SECURITY_POLICY, pagePolicy, type BuiltPage } from "../hub/static";
import { consolePage, simPage, startWebServer } from "../web/server";
import { refusal } from "../web/console/api";
import { hubFleet, testConfig } from "./hub.helpers";

class MapStore implements KeyValueStore {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

const host = (store: KeyValueStore) => new BrowserDevice({ store, realNow: () => 0, speed: 60 });

describe("browser host", () => {
  it("keeps the flash in the store: a new page on the same store powers on the same device, load on", () => {
    const store = new MapStore();
    const first = host(store);
    expect(first.resume()).toBe(false);
    first.install({ provision: demoProvision("openpaygo") });
    const code = (first.live?.codes() ?? [])[0].keys;
    for (const key of code) expect(first.press(key)).toBe(true);
    expect(first.live?.view().load).toBe(true);
    expect(first.lastKeyMs).toBeGreaterThanOrEqual(0);

    const reloaded = host(store);
    expect(reloaded.resume()).toBe(true);
    expect(reloaded.live?.view().load).toBe(true);
    // The code is spent on the kept journal: the next demo codes start after it.
    const journal = reloaded.live?.sim.images().journal as Uint8Array;
    expect(nextCodes(demoProvision("openpaygo"), journal)?.[0].keys).not.toBe(code);
    expect(reloaded.press("x")).toBe(false);
  });

  it("keeps the chip's OTP bits: an old journal written back onto the same device after a reload is locked", () => {
    const store = new MapStore();
    const provision = demoProvision("nexus-full");
    const first = host(store);
    first.install({ provision });
    const code = encodeFull({ type: "add_credit", key: DEMO_KEY, id: 24, hours: 130 * 24 }).replace(/ /g, "");
    for (const key of code) expect(first.press(key)).toBe(true);
    const old = first.live!.sim.images().journal;
    // The load runs longer than one anchor step (the firmware sets OTP bit 1); a power cut stores what it wrote.
    const stepDays = Math.ceil(anchorStep(CHIP_OTP_BITS.esp32 - 1).minutes / 1440);
    first.live!.sim.wait((stepDays + 1) * 86_400_000);
    first.powerCut();
    expect(anchorCount(OtpSim.from(hexToBytes(store.getItem("solkey.sim.otp")!)))).toBe(1);
    const boots = (device: BrowserDevice) => device.live!.sim.trace.filter((e) => e.type === "boot");

    // A reload, then the old image loaded onto the same device (the restore attack): locked, as on a chip.
    const reloaded = host(store);
    expect(reloaded.resume()).toBe(true);
    expect(reloaded.writeFlash({ provision, journal: old })).toBe(true);
    expect(boots(reloaded)).toEqual([{ t: 0, type: "boot", status: "locked" }]);
    const again = host(store);
    expect(again.resume()).toBe(true);
    expect(boots(again)).toEqual([{ t: 0, type: "boot", status: "locked" }]);
    // Another device's image is another chip: its own bits, none set yet.
    expect(again.writeFlash({ provision: demoProvision("openpaygo") })).toBe(false);
    expect(store.getItem("solkey.sim.otp")).toBe("01" + "00".repeat(CHIP_OTP_BITS.esp32 - 1)); // its mark only

    // Without the kept bits (every page load a new chip, as before): the old image boots with its credit back.
    const newChip = host(new MapStore());
    newChip.install({ provision, journal: old });
    expect(boots(newChip)).toEqual([{ t: 0, type: "boot", status: "ready" }]);
    expect(newChip.live!.view().load).toBe(true);
  });

  it("treats stored text that is not hex as erased (no device), never as a crash", () => {
    const store = new MapStore();
    store.setItem("solkey.sim.provision", "not hex");
    expect(host(store).resume()).toBe(false);
    expect(store.map.size).toBe(0);
    // OTP bits that are not the board's count of bit states: dropped, the device boots on a new chip's bits.
    for (const otp of ["not hex", "0101", "03".repeat(CHIP_OTP_BITS.esp32)]) {
      host(store).install({ provision: demoProvision("openpaygo") });
      store.setItem("solkey.sim.otp", otp);
      expect(host(store).resume()).toBe(true);
      expect(store.getItem("solkey.sim.otp")).toBe("01" + "00".repeat(CHIP_OTP_BITS.esp32 - 1));
    }
  });
});

describe("images dropped on the page", () => {
  const record = demoProvision("nexus-full");
  const erased = new Uint8Array(SIM_LAYOUTS.esp32.journal.size).fill(0xff);

  it("reads an ESP32 pair and an nRF52 Intel HEX", () => {
    const pair = deviceFromFiles([
      { name: "SK-1.bin", bytes: record },
      { name: "SK-1.journal.bin", bytes: erased },
    ]);
    expect(pair).toEqual({ ok: true, device: { provision: record, journal: erased } });
    const read = decodeProvision(record);
    if (read.kind !== "provisioned") throw new Error("demo record");
    const nrf = encodeProvision({ ...read.record, board: "nrf52" });
    const { journal, provision } = SIM_LAYOUTS.nrf52;
    const text = segmentsToIntelHex([
      { address: journal.offset, data: new Uint8Array(journal.size).fill(0xff) },
      { address: provision.offset, data: nrf },
    ]);
    const hex = deviceFromFiles([{ name: "SK-1.hex", bytes: new TextEncoder().encode(text) }]);
    expect(hex.ok && decodeProvision(hex.device.provision).kind).toBe("provisioned");
    expect(hex.ok && hex.device.journal?.length).toBe(journal.size);
  });

  it.each([
    ["no file", [], /^no file: choose/],
    ["another kind of file", [{ name: "a.txt", bytes: record }], /^a\.txt is neither a \.bin nor a \.hex image/],
    [
      "two devices",
      [
        { name: "a.bin", bytes: record },
        { name: "b.bin", bytes: record },
      ],
      /^one device at a time/,
    ],
    ["a journal alone", [{ name: "a.journal.bin", bytes: erased }], /^one device at a time/],
    [
      "a short journal",
      [
        { name: "a.bin", bytes: record },
        { name: "a.journal.bin", bytes: erased.subarray(1) },
      ],
      /expected 16384 bytes/,
    ],
    ["a blank record", [{ name: "a.bin", bytes: new Uint8Array(64).fill(0xff) }], /no provisioning record \(blank\)/],
    [
      "a bad hex line",
      [{ name: "a.hex", bytes: new TextEncoder().encode(":00000001FE\n") }],
      /^a\.hex: Intel HEX line 1/,
    ],
  ])("refuses %s with one line naming the fix", (_what, files, message) => {
    const read = deviceFromFiles(files);
    expect(read.ok).toBe(false);
    if (!read.ok) {
      expect(read.error).toMatch(message);
      expect(read.error).not.toContain("\n");
    }
  });

  it("never throws on arbitrary files", () => {
    const file = fc.record({
      name: fc.constantFrom("x.bin", "x.journal.bin", "x.hex", "x"),
      bytes: fc.uint8Array({ maxLength: 200 }),
    });
    fc.assert(fc.property(fc.array(file, { maxLength: 3 }), (files) => typeof deviceFromFiles(files).ok === "boolean"));
  });
});

describe("web server", () => {
  it("serves the page, its script and styles under the CSP; 404 and 405 as one line", async () => {
    const server = await startWebServer({ port: 0, host: "127.0.0.1" });
    try {
      const page = await fetch(server.url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self';/);
      const html = await page.text();
      // Only the page's own relative files: it works at / and mounted at /sim/; no inline script.
      expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual(["data:,", "sim.css", "sim.js"]);
      expect(html).not.toMatch(/<script>|<style|style="/);
      for (const [file, type] of [
        ["sim.js", "text/javascript"],
        ["sim.css", "text/css"],
      ]) {
        const res = await fetch(server.url + file);
        expect(res.headers.get("content-type")).toContain(type);
        expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      }
      expect(server.page.bundleBytes).toBeGreaterThan(10_000);
      const missing = await fetch(server.url + "nope");
      expect([missing.status, await missing.text()]).toEqual([
        404,
        "no such file: /nope; the device simulator is at ./\n",
      ]);
      const post = await fetch(server.url, { method: "POST", body: "x" });
      expect(post.status).toBe(405);
    } finally {
      await server.close();
    }
  });
});

/** `app` serves each of `page`'s `files` below `mount`: 200, with `policy`, the very bytes the page was built with. */
async function expectServes(
  app: ReturnType<typeof buildApp>,
  mount: string,
  page: BuiltPage,
  policy: string,
  files: readonly string[],
): Promise<void> {
  for (const file of files) {
    const res = await app.inject({ method: "GET", url: mount + file });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-security-policy"]).toBe(policy);
    expect(res.rawPayload.equals(page.assets.get(file)!.body)).toBe(true);
  }
}

describe("the hub's /sim/", () => {
  it("serves the simulator page with the same files and headers as `solkey web`; /sim redirects to /sim/", async () => {
    const fleet = await hubFleet({ protocol: "nexus-full" }, 1);
    const page = simPage();
    const app = buildApp({ config: testConfig(), store: fleet.store, log: false, simPage: page });
    try {
      const moved = await app.inject({ method: "GET", url: "/sim" });
      expect([moved.statusCode, moved.headers.location]).toEqual([301, "/sim/"]);
      await expectServes(app, "/sim", page, CONTENT_SECURITY_POLICY, ["/", "/sim.js", "/sim.css"]);
      const missing = await app.inject({ method: "GET", url: "/sim/nope" });
      expect(missing.statusCode).toBe(404);
      // The API and the payment routes are untouched by the mount.
      expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await app.close();
      await fleet.store.close();
    }
  });
});

describe("the hub's /console/", () => {
  it("serves the console beside the API only, its script allowed to call its own origin and nothing else", async () => {
    const fleet = await hubFleet({ protocol: "nexus-full" }, 1);
    const page = consolePage();
    const apiKeys = await openApiKeys(fleet.file);
    const withApi = buildApp({ config: testConfig(), store: fleet.store, log: false, apiKeys, consolePage: page });
    const without = buildApp({ config: testConfig(), store: fleet.store, log: false, consolePage: page });
    try {
      expect(pagePolicy("self")).toMatch(/connect-src 'self';/);
      expect(CONTENT_SECURITY_POLICY).toMatch(/connect-src 'none';/);
      await expectServes(withApi, "/console", page, pagePolicy("self"), ["/", "/console.js", "/console.css"]);
      const html = page.assets.get("/")!.body.toString();
      expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual([
        "data:,",
        "console.css",
        "console.js",
      ]);
      expect(html).not.toMatch(/<script>|<style|style="/);
      expect((await without.inject({ method: "GET", url: "/console/" })).statusCode).toBe(404);
    } finally {
      await withApi.close();
      await without.close();
      await fleet.store.close();
      await apiKeys.close();
    }
  });
});

describe("the console's lines for a refused request", () => {
  it.each([
    [401, "", /^key refused: sign in with a live key from `solkey apikey create`$/],
    [
      403,
      "this needs a key of scope issue or above; this key is read",
      /^this key's scope cannot issue codes \(.*read\)$/,
    ],
    [429, "Rate limit exceeded", /^too many requests from this key: wait a minute, then issue codes again$/],
    [409, "window full: have the customer enter SK-1's outstanding codes", /^cannot issue codes: window full/],
    [503, "the hub could not store this now; retry", /^the hub could not issue codes now \(503: .*\); try again$/],
    [404, "", /^cannot issue codes: the hub answered 404$/],
  ])("%i says what happened and what to do, on one line", (status, said, line) => {
    const text = refusal(status, "issue codes", said);
    expect(text).toMatch(line);
    expect(text).not.toContain("\n");
  });
});
