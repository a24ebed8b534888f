// The hub's operator console in a real browser (issue 19): a real `solkey hub` process (tools/consolehub.ts: the demo
// fleet, SMS through the Africa's Talking stand-in), Debian's Chromium through playwright-core, and an operator's
// actions: sign in with a key, see a posted payment with its device and its SMS delivery, hostile references shown as
// text, a read key refused the issue form, an ad-hoc code issued from the console in the codes list, a device's credit
// set (the code applied on its simulated controller, and sent by SMS when its box is ticked), a payment reversed after
// a confirmation, the audit log (admin keys only), and a second hub with a low rate limit whose 429 is one line in the
// page.
import type { Page } from "playwright-core";
import { startConsoleHub, type ConsoleHub } from "../tools/consolehub";
import { openChromium, type Chromium } from "../web/chromium";
import { creditOf, enter, simOf, verdicts } from "./hub.helpers";

const DAY_S = 86_400;

/** Fits M-Pesa's 64-character BillRefNumber; each part would run script if the page parsed it as markup. */
const HOSTILE = "<img src=x onerror=alert(1)></script><b>x</b>";

let hub: ConsoleHub;
let browser: Chromium | undefined;

beforeAll(async () => {
  hub = await startConsoleHub();
}, 120_000);

afterAll(async () => {
  await hub?.stop();
});

afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

interface Console {
  readonly page: Page;
  /** Script errors, console errors (a CSP violation is one) and dialogs (an alert() that ran). */
  readonly errors: string[];
  readonly requests: string[];
}

/** The console in a fresh browser, signed in with `key`. */
async function signedIn(key: string): Promise<Console> {
  browser = await openChromium();
  const page = await browser.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // A CSP violation is a console error; a refused request (a read key's 403) is logged too, and is not one.
  page.on("console", (m) => {
    if ((m.type() === "error" || m.type() === "warning") && !/^Failed to load resource: .* 4\d\d/.test(m.text()))
      errors.push(m.text());
  });
  page.on("dialog", (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`${hub.url}/console/`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await statusMatching(page, /\d+ devices?/);
  return { page, errors, requests };
}

/** A GET of the hub's API with `key`, as a script would: the answer's JSON. */
async function api<T = Record<string, unknown>>(key: string, path: string): Promise<T> {
  const response = await fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The status region's text once it matches `expected`; fails after 20 s with what it said. */
async function statusMatching(page: Page, expected: RegExp): Promise<string> {
  const status = page.getByRole("status");
  let text = "";
  for (const until = Date.now() + 20_000; Date.now() < until; await page.waitForTimeout(50)) {
    text = (await status.textContent()) ?? "";
    if (expected.test(text)) return text;
  }
  throw new Error(`the status region says "${text}", expected ${expected}`);
}

/** The cells of the rows of the table captioned `caption`. */
async function rows(page: Page, caption: string | RegExp): Promise<string[][]> {
  const table = page.getByRole("table", { name: caption });
  return table
    .locator("tbody tr")
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? "")));
}

describe("the operator console in Chromium", () => {
  it("shows a payment posted to the hub, its device's code and its SMS delivered", async () => {
    const serial = hub.serials[0];
    expect(await hub.pay("QCON00001", "150.00", serial)).toBe(200);
    await hub.deliver(1, "Success");
    const key = await hub.key("issue");
    const { page, errors, requests } = await signedIn(key);
    // Signed in on the devices: this one paid for 3 days, its last code the payment's.
    const device = (await rows(page, "Devices")).find((r) => r[0] === serial);
    expect(device?.[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(device?.[4]).toBe("3");
    expect(device?.[6]).toMatch(/^add \*[\d ]+#$/);

    await page.getByRole("button", { name: "Payments", exact: true }).click();
    await statusMatching(page, /payments?, \d+ orphans?/);
    const payment = (await rows(page, /^Payments, newest first/)).find((r) => r.includes("QCON00001"));
    expect(payment).toEqual(expect.arrayContaining(["mpesa", "KES 150.00", serial, "coded"]));

    await page
      .getByRole("button", { name: `device ${serial}` })
      .first()
      .click();
    await statusMatching(page, new RegExp(`device ${serial}: 1 code`));
    const [code] = await rows(page, "Codes issued and entered");
    expect(code).toEqual(expect.arrayContaining(["add", "3 d", "mpesa:QCON00001"]));
    const [sms] = await rows(page, "SMS");
    expect(sms).toEqual(expect.arrayContaining(["+254700000000", "code", "delivered"]));
    // The SMS text holds the code the device got: the issue key sees it in full.
    expect(sms.join(" ")).toContain(code[4]);

    await page.getByRole("button", { name: "SMS", exact: true }).click();
    await statusMatching(page, /\d+ SMS/);
    expect((await rows(page, /^SMS, newest first/)).map((r) => r[4])).toContain("delivered");

    // Found again by the account's phone as a customer says it, and by the transaction id.
    for (const q of ["0700 000 000", "QCON00001"]) {
      await page.getByLabel("Serial, phone or payment reference").fill(q);
      await page.keyboard.press("Enter");
      await statusMatching(page, new RegExp(`match "${q}"`));
      expect((await rows(page, "Devices")).map((r) => r[0])).toEqual([serial]);
    }

    // The key stays in this tab's sessionStorage, never in an address; only the hub's own origin is asked.
    expect(await page.evaluate('sessionStorage.getItem("solkey.console.key")')).toBe(key);
    expect(requests.filter((u) => u.includes(key.slice(3)))).toEqual([]);
    expect(requests.filter((u) => !u.startsWith(hub.url) && !u.startsWith("data:"))).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);

  it("shows hostile references as text: no element made, nothing run, the text there", async () => {
    expect(await hub.pay("QEVIL0001", "100.00", HOSTILE, "</script><script>alert(2)</script>")).toBe(200);
    const { page, errors } = await signedIn(await hub.key("issue"));
    await page.getByRole("button", { name: "Payments", exact: true }).click();
    await statusMatching(page, /orphan/);
    const orphan = (await rows(page, /^Orphan payments/)).find((r) => r.includes("QEVIL0001"));
    expect(orphan).toContain(HOSTILE);
    expect(await page.locator("option", { hasText: "QEVIL0001" }).textContent()).toContain(HOSTILE);

    await page.getByLabel("Serial, phone or payment reference").fill(HOSTILE);
    await page.getByRole("button", { name: "Search" }).click();
    await statusMatching(page, /match/);
    expect(await page.locator("#view-title").textContent()).toBe(`Search: ${HOSTILE}`);

    // Nothing the reference spells became an element; the only script is the page's own.
    expect(await page.locator("img, b").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    expect(errors).toEqual([]);

    // Assigned from the form, with the reason the API requires.
    await page.getByRole("button", { name: "Payments", exact: true }).click();
    await statusMatching(page, /orphan/);
    // Offered in the orphans' table and in the list of all payments alike.
    expect(await page.getByRole("button", { name: "assign payment QEVIL0001" }).count()).toBe(2);
    await page.getByRole("button", { name: "assign payment QEVIL0001" }).first().click();
    expect(await page.evaluate("document.activeElement.id")).toBe("assign-serial");
    const form = page.getByRole("form", { name: "Assign an orphan payment" });
    await form.getByLabel("To the account of device serial").fill(hub.serials[1]);
    await form.getByLabel("Reason").fill("customer typed markup as the reference");
    await form.getByRole("button", { name: "Assign", exact: true }).click();
    await statusMatching(page, new RegExp(`payment QEVIL0001 assigned to ${hub.serials[1]}: coded`));
    expect(errors).toEqual([]);
  }, 120_000);

  it("refuses the issue form to a read key, and shows it only the codes' last characters", async () => {
    expect(await hub.pay("QREAD0001", "50.00", hub.serials[0])).toBe(200);
    const { page, errors } = await signedIn(await hub.key("read"));
    const form = page.getByRole("form", { name: "Issue an ad-hoc code" });
    await form.getByLabel("Device serial").fill(hub.serials[0]);
    await form.getByLabel("Reason").fill("goodwill after an outage");
    await form.getByRole("button", { name: "Issue code" }).click();
    expect(await statusMatching(page, /^this key's scope cannot issue codes/)).toMatch(/scope issue/);
    await page.getByRole("button", { name: "Codes", exact: true }).click();
    await statusMatching(page, /\d+ codes?/);
    const keycodes = (await rows(page, /^Codes issued/)).map((r) => r[5]);
    expect(keycodes.length).toBeGreaterThan(0);
    for (const k of keycodes) expect(k).toMatch(/^…\S{1,4}$/);
    expect(errors).toEqual([]);
  }, 120_000);

  it("issues an ad-hoc code with a reason, and it appears in the codes list", async () => {
    const { page, errors } = await signedIn(await hub.key("issue"));
    const serial = hub.serials[2];
    const form = page.getByRole("form", { name: "Issue an ad-hoc code" });
    await form.getByLabel("Device serial").fill(serial);
    await form.getByLabel("Code", { exact: true }).selectOption("goodwill");
    await form.getByLabel("Days").fill("2");
    await form.getByLabel("Reason").fill("two days for a broken panel");
    await form.getByRole("button", { name: "Issue code" }).click();
    await statusMatching(page, new RegExp(`issued a goodwill code \\(add, seq \\d+\\) for ${serial}`));
    const keycode = (await page.locator("#issued").textContent()) ?? "";
    expect(keycode).toMatch(/^[*#\d ]{6,}$/);
    await page.getByRole("button", { name: "Codes", exact: true }).click();
    await statusMatching(page, /\d+ codes?/);
    const row = (await rows(page, /^Codes issued/)).find((r) => r[5] === keycode);
    expect(row).toEqual(expect.arrayContaining([serial, "add", "2 d"]));
    expect(errors).toEqual([]);
  }, 120_000);

  it("says why when the key is refused or the hub cannot be reached", async () => {
    browser = await openChromium();
    const page = await browser.context.newPage();
    await page.goto(`${hub.url}/console/`);
    await page.getByLabel("API key").fill("sk_" + "0".repeat(64));
    await page.keyboard.press("Enter");
    await statusMatching(page, /^key refused/);
    expect(await page.getByLabel("API key").isVisible()).toBe(true);

    await page.getByLabel("API key").fill(await hub.key("read"));
    await page.keyboard.press("Enter");
    await statusMatching(page, /devices?/);
    // Keyboard only: Enter signed in, and focus moved to the view the form opened.
    expect(await page.evaluate("document.activeElement.id")).toBe("view");
    // The network goes down under the page: the browser's own requests fail, the hub is untouched.
    await page.context().setOffline(true);
    await page.getByRole("button", { name: "Codes", exact: true }).click();
    await statusMatching(page, /^cannot list codes: the hub did not answer/);
  }, 120_000);

  it("sets a device's credit: a set code the device applies, an add where no set fits, a reduction refused", async () => {
    const key = await hub.key("issue");
    const { page, errors } = await signedIn(key);
    const form = page.getByRole("form", { name: "Set a device's credit" });
    const setCredit = async (serial: string, days: number, reason: string, sms = false) => {
      await form.getByLabel("Device serial").fill(serial);
      await form.getByLabel("Days of credit").fill(String(days));
      await form.getByLabel("Reason").fill(reason);
      await form.getByLabel("send the code by SMS").setChecked(sms);
      await form.getByRole("button", { name: "Set credit" }).click();
    };
    const spaceless = (text: string) => text.replace(/ /g, "");
    const smsOf = async (serial: string) =>
      (await api<{ messages: { messageId: number; to: string; text: string }[] }>(key, `/api/v1/sms?serial=${serial}`))
        .messages;

    // Nexus full: a set code carries any whole number of days; the customer types it on the simulated controller.
    const full = hub.devices[1];
    await setCredit(full.serial, 5, "customer ticket 4471: five days agreed");
    const said = await statusMatching(page, new RegExp(`^credit of ${full.serial}: a set code makes it 5 days`));
    const keycode = (await form.locator("#desired-code").textContent()) ?? "";
    expect(said).toMatch(new RegExp(`\\(set, seq \\d+\\): ${keycode.replace(/[*]/g, "\\*")}$`));
    const [code] = (
      await api<{ codes: { kind: string; seconds: number; keycode: string }[] }>(
        key,
        `/api/v1/codes?serial=${full.serial}&limit=1`,
      )
    ).codes;
    expect(code).toMatchObject({ kind: "set", seconds: 5 * DAY_S, keycode });
    // The SMS box is off by default and was left off: no message holds the code.
    expect(await form.getByLabel("send the code by SMS").isChecked()).toBe(false);
    expect((await smsOf(full.serial)).filter((m) => spaceless(m.text).includes(spaceless(keycode)))).toEqual([]);
    const device = await api<{ device: { credit: { owedDays: number } } }>(key, `/api/v1/devices/${full.serial}`);
    expect(device.device.credit.owedDays).toBe(5);
    const sim = simOf(full);
    enter(sim, full, keycode);
    expect(verdicts(sim.trace)).toEqual(["applied"]);
    sim.type("*#");
    const credit = creditOf(sim) as number;
    expect(credit).toBeGreaterThan(5 * DAY_S - 3600);
    expect(credit).toBeLessThanOrEqual(5 * DAY_S);

    // Nexus small above 90 days: no set code carries 97, so the hub adds the difference from the calendar's 0 days.
    const small = hub.devices[3];
    // With the SMS box ticked: the code also goes to the account's phone, through the outbox.
    await setCredit(small.serial, 97, "prepaid season, receipt 5512", true);
    const added = await statusMatching(page, /no set code carries 97 days: an add of 97 days reaches it/);
    const messageId = Number(/, SMS (\d+) queued$/.exec(added)?.[1]);
    const smallCode = (await form.locator("#desired-code").textContent()) ?? "";
    const [message] = (await smsOf(small.serial)).filter((m) => m.messageId === messageId);
    expect(message).toMatchObject({ to: "+254700000009" });
    // The SMS groups the digits for the keypad: compare without spaces.
    expect(spaceless(message.text)).toContain(spaceless(smallCode));
    const smallView = `/api/v1/devices/${small.serial}`;
    const before = await api<{ device: { credit: { owedDays: number }; codes: { issued: number } } }>(key, smallView);
    expect(before.device.credit.owedDays).toBe(97);

    // 93 days: no set code carries it either, and it is below the calendar's 97: the API's message, nothing issued.
    await setCredit(small.serial, 93, "customer asked for less");
    const refused = await statusMatching(page, /^cannot set the credit: /);
    expect(refused).toMatch(/93 days cannot be issued exactly; nearest: 92 days .* not above the calendar's 97/);
    expect(await page.getByRole("status").getAttribute("class")).toContain("bad");
    const after = await api<{ device: { credit: { owedDays: number }; codes: { issued: number } } }>(key, smallView);
    expect(after.device).toMatchObject({ credit: { owedDays: 97 }, codes: { issued: before.device.codes.issued } });
    expect(errors).toEqual([]);
  }, 120_000);

  it("reverses a payment only after a confirmation; the audit log shows it to an admin key, its note as text", async () => {
    const serial = hub.serials[0];
    expect(await hub.pay("QREV00001", "100.00", serial)).toBe(200);
    const issueKey = await hub.key("issue");
    const paidBefore = (await api<{ account: { paid: number } }>(issueKey, `/api/v1/accounts/${serial}`)).account.paid;
    const { page, errors } = await signedIn(issueKey);
    // An issue key may not read the audit log: the view says so in one line, the rest of the console still works.
    await page.getByRole("button", { name: "Audit log", exact: true }).click();
    const line = await statusMatching(page, /^this key's scope cannot read the audit log/);
    expect(line).toContain("scope admin");
    expect(await page.locator("#view-body").textContent()).toBe(line);
    expect(await page.getByRole("table").count()).toBe(0);

    await page.getByRole("button", { name: "Payments", exact: true }).click();
    await statusMatching(page, /payments?, \d+ orphans?/);
    await page.getByRole("button", { name: "reverse payment QREV00001" }).click();
    expect(await page.evaluate("document.activeElement.id")).toBe("reverse-note");
    const form = page.getByRole("form", { name: "Reverse a payment" });
    await form.getByLabel("Note").fill(HOSTILE);
    await form.getByRole("button", { name: "Reverse…" }).click();
    // The first step sends nothing: it asks, naming the payment.
    const question = page.getByRole("group", { name: /^Reverse mpesa QREV00001 \(KES 100\.00/ });
    await question.waitFor();
    // The question quotes the note as typed: text, no element made of it.
    expect(await page.locator("#reverse-question").textContent()).toContain(`with the note "${HOSTILE}"?`);
    expect(await page.locator("img, b").count()).toBe(0);
    await question.getByRole("button", { name: "Keep the payment" }).click();
    await statusMatching(page, /^reversal cancelled: nothing was sent$/);
    const stillCoded = await api<{ payments: { status: string }[] }>(issueKey, "/api/v1/payments?q=QREV00001");
    expect(stillCoded.payments.map((p) => p.status)).toEqual(["coded"]);

    await form.getByRole("button", { name: "Reverse…" }).click();
    await question.getByRole("button", { name: "Confirm the reversal" }).click();
    await statusMatching(page, /^payment QREV00001 reversed: reversed$/);
    const reversed = await api<{ payments: { status: string }[] }>(issueKey, "/api/v1/payments?q=QREV00001");
    expect(reversed.payments.map((p) => p.status)).toEqual(["reversed"]);
    const paidAfter = (await api<{ account: { paid: number } }>(issueKey, `/api/v1/accounts/${serial}`)).account.paid;
    expect(paidAfter).toBe(paidBefore - 10_000);
    // Reversed: its row has no button any more.
    expect(await page.getByRole("button", { name: "reverse payment QREV00001" }).count()).toBe(0);
    expect(errors).toEqual([]);
    await browser?.close();

    const admin = await signedIn(await hub.key("admin"));
    await admin.page.getByRole("button", { name: "Audit log", exact: true }).click();
    await statusMatching(admin.page, /^\d+ audit entr(y|ies)$/);
    const entries = await rows(admin.page, "Audit log, oldest first");
    const entry = entries.find((r) => r[3] === "payment.reverse");
    expect(entry).toBeDefined();
    expect(entry![2]).toMatch(/^API key \d+$/);
    expect(entry![4]).toBe(HOSTILE);
    expect(entry![5]).toContain("transId: QREV00001");
    expect(entry![5]).toContain("status: reversed");
    expect(entries.map((r) => r[3])).toContain("code.desired");
    // The hostile note made no element and ran nothing.
    expect(await admin.page.locator("img, b").count()).toBe(0);
    expect(admin.errors).toEqual([]);
  }, 120_000);
});

describe("the console's audit log", () => {
  it("pages the log oldest first, 50 entries at a time", async () => {
    const issueKey = await hub.key("issue");
    const adminKey = await hub.key("admin");
    // Maintenance codes spend no ID: as many audit entries as needed without filling the device's window.
    const logged = await api<{ entries: unknown[] }>(adminKey, "/api/v1/audit?limit=1000");
    for (let n = logged.entries.length; n <= 60; n++) {
      const response = await fetch(`${hub.url}/api/v1/devices/${hub.serials[2]}/codes`, {
        method: "POST",
        headers: { authorization: `Bearer ${issueKey}`, "content-type": "application/json" },
        body: JSON.stringify({ action: "maintenance", note: "installer check" }),
      });
      expect(response.status).toBe(200);
    }
    const all = (await api<{ entries: { auditId: number }[] }>(adminKey, "/api/v1/audit?limit=1000")).entries;
    const { page, errors } = await signedIn(adminKey);
    await page.getByRole("button", { name: "Audit log", exact: true }).click();
    await statusMatching(page, /^50 audit entries$/);
    const first = (await rows(page, "Audit log")).map((r) => Number(r[0]));
    expect(first).toEqual(all.slice(0, 50).map((e) => e.auditId));
    await page.getByRole("button", { name: "Later entries" }).click();
    await statusMatching(page, new RegExp(`^${Math.min(50, all.length - 50)} audit entr`));
    const second = (await rows(page, "Audit log")).map((r) => Number(r[0]));
    expect(second).toEqual(all.slice(50, 100).map((e) => e.auditId));
    expect(errors).toEqual([]);
  }, 120_000);
});

describe("the console against a hub with a low rate limit", () => {
  let limited: ConsoleHub;
  beforeAll(async () => {
    limited = await startConsoleHub({ SOLKEY_API_PER_MINUTE: "4" });
  }, 120_000);
  afterAll(async () => {
    await limited?.stop();
  });

  it("shows the hub's 429 as one line and stays signed in", async () => {
    const key = await limited.key("read");
    browser = await openChromium();
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${limited.url}/console/`);
    await page.getByLabel("API key").fill(key);
    await page.keyboard.press("Enter");
    await statusMatching(page, /\d+ devices?/);
    // Signing in asked twice (devices, orphans); each view asks once more until the hub's limit answers.
    let line = "";
    for (let i = 0; i < 5 && !/^too many/.test(line); i++) {
      await page.getByRole("button", { name: "Codes", exact: true }).click();
      line = await statusMatching(page, /codes?$|^too many/);
    }
    expect(line).toMatch(/^too many requests from this key: wait \d{1,2} s, then list codes again$/);
    expect(await page.getByRole("status").getAttribute("class")).toContain("bad");
    expect(await page.locator("#main").isVisible()).toBe(true);
    // The limit is the hub's, not the page's: a script with the same key is refused too.
    const direct = await fetch(`${limited.url}/api/v1/plans`, { headers: { authorization: `Bearer ${key}` } });
    expect(direct.status).toBe(429);
    expect(Number(direct.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 120_000);
});
