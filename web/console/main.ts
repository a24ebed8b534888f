// The operator console's page script: signs in with an API key (kept in this tab's sessionStorage, sent only as a
// bearer header, never in a URL), shows devices, payments, codes and SMS from the hub's /api/v1 (docs/API.md), searches
// by serial, phone or payment reference, issues ad-hoc codes, sets a device's credit (desired state), assigns orphan
// payments and reverses payments (after a confirmation step), each with a reason, and shows the audit log to admin keys.
import { call, type Answer, type Failure } from "./api";
import { button, element, make, money } from "./dom";
import type { AdHocAction, AdHocAnswer, AuditEntry, Code, Device, DesiredAnswer, Page, Payment, Sms } from "./types";
import { AD_HOC_ACTIONS } from "./types";
import * as views from "./views";

/** sessionStorage: gone when the tab closes, never shared with other tabs or sent anywhere by the browser. */
const KEY_ITEM = "solkey.console.key";
const LIMIT = 50;

/** The views of the nav; each a list, paged by `after`. */
type ListView = { readonly kind: "devices" | "payments" | "codes" | "sms" | "audit"; readonly after?: string };
type View =
  ListView | { readonly kind: "device"; readonly serial: string } | { readonly kind: "search"; readonly q: string };

const ui = {
  signin: element<HTMLFormElement>("signin"),
  key: element<HTMLInputElement>("key"),
  signed: element("signed"),
  signedAs: element("signed-as"),
  signout: element<HTMLButtonElement>("signout"),
  status: element("status"),
  main: element("main"),
  search: element<HTMLFormElement>("search"),
  query: element<HTMLInputElement>("query"),
  view: element("view"),
  viewTitle: element("view-title"),
  viewBody: element("view-body"),
  issue: element<HTMLFormElement>("issue"),
  issueSerial: element<HTMLInputElement>("issue-serial"),
  issueAction: element<HTMLSelectElement>("issue-action"),
  issueDays: element<HTMLInputElement>("issue-days"),
  issueReason: element<HTMLInputElement>("issue-reason"),
  issueSms: element<HTMLInputElement>("issue-sms"),
  issued: element("issued"),
  assign: element<HTMLFormElement>("assign"),
  assignPayment: element<HTMLSelectElement>("assign-payment"),
  assignSerial: element<HTMLInputElement>("assign-serial"),
  assignReason: element<HTMLInputElement>("assign-reason"),
  desired: element<HTMLFormElement>("desired"),
  desiredSerial: element<HTMLInputElement>("desired-serial"),
  desiredDays: element<HTMLInputElement>("desired-days"),
  desiredReason: element<HTMLInputElement>("desired-reason"),
  desiredSms: element<HTMLInputElement>("desired-sms"),
  desiredCode: element("desired-code"),
  reverse: element<HTMLFormElement>("reverse"),
  reversePayment: element("reverse-payment"),
  reverseNote: element<HTMLInputElement>("reverse-note"),
  reverseConfirm: element("reverse-confirm"),
  reverseQuestion: element("reverse-question"),
  reverseYes: element<HTMLButtonElement>("reverse-yes"),
  reverseNo: element<HTMLButtonElement>("reverse-no"),
  nav: [...document.querySelectorAll<HTMLButtonElement>("nav button[data-view]")],
};

let key: string | undefined;
let current: View = { kind: "devices" };
let orphans: readonly Payment[] = [];
/** The payment the reverse form names (chosen by its row's button), if any. */
let reversing: Payment | undefined;
/** Counts the views asked for, so a slow answer never replaces the view asked for after it. */
let shown = 0;

/** The one status line (role="status"): what the last action did, or why it failed. */
function say(line: string, bad = false): void {
  ui.status.textContent = line;
  ui.status.classList.toggle("bad", bad);
}

function get<T>(url: string, what: string): Promise<Answer<T>> {
  return call<T>(key ?? "", "GET", url, what);
}

function post<T>(url: string, what: string, body: object): Promise<Answer<T>> {
  return call<T>(key ?? "", "POST", url, what, body);
}

/** A list endpoint's URL with its query (empty values left out). */
function listUrl(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams({ limit: String(LIMIT) });
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
  return `/api/v1/${path}?${params}`;
}

const actions: views.Actions = {
  openDevice: (serial) => void show({ kind: "device", serial }, true),
  assign: (payment) => {
    const index = orphans.findIndex((o) => o.provider === payment.provider && o.transId === payment.transId);
    if (index >= 0) ui.assignPayment.selectedIndex = index;
    ui.assignSerial.focus();
  },
  reverse: (payment) => {
    reversing = payment;
    ui.reverseConfirm.hidden = true;
    ui.reversePayment.textContent = `${paymentName(payment)}, ${payment.status}`;
    ui.reverseNote.focus();
  },
};

function paymentName(p: Payment): string {
  return `${p.provider} ${p.transId} (${money(p.amount, p.currency)}${p.serial === null ? "" : `, ${p.serial}`})`;
}

/** A failed answer: its line in the status region; a refused key signs out. */
function failed(answer: Failure): void {
  if (answer.status === 401) signOut(answer.line);
  else say(answer.line, true);
}

/** Loads and draws `view`; false when the hub refused or could not answer (the status says why). */
async function show(view: View, focus = false): Promise<boolean> {
  const mine = ++shown;
  const drawn = await draw(view);
  // A later click's view wins, whichever answer comes back last.
  if (mine !== shown) return drawn.ok;
  if (!drawn.ok) {
    failed(drawn);
    return false;
  }
  current = view;
  const tab = view.kind === "device" || view.kind === "search" ? undefined : view.kind;
  for (const b of ui.nav) b.setAttribute("aria-pressed", String(b.dataset.view === tab));
  ui.viewTitle.textContent = drawn.value.title;
  ui.viewBody.replaceChildren(...drawn.value.nodes);
  say(drawn.value.summary, drawn.value.bad);
  if (focus) ui.view.focus();
  return true;
}

interface Drawn {
  readonly title: string;
  readonly nodes: Node[];
  readonly summary: string;
  /** The summary is a refusal (shown as one). */
  readonly bad?: boolean;
}

/** A button to the next page of a list view, when there is one. */
function older(view: ListView, next: string | null): Node[] {
  if (next === null) return [];
  const more = button("Older", () => void show({ ...view, after: next }, true));
  more.className = "more";
  return [more];
}

async function draw(view: View): Promise<Answer<Drawn>> {
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  switch (view.kind) {
    case "devices": {
      const a = await get<Page<"devices", Device>>(listUrl("devices", { after: view.after }), "list devices");
      if (!a.ok) return a;
      const { devices, next } = a.value;
      return done(
        "Devices",
        [views.devicesTable(devices, actions), ...older(view, next)],
        count(devices.length, "device"),
      );
    }
    case "payments": {
      const [page, waiting] = await Promise.all([
        get<Page<"payments", Payment>>(listUrl("payments", { after: view.after }), "list payments"),
        refreshOrphans(),
      ]);
      if (!page.ok) return page;
      if (!waiting.ok) return waiting;
      const { payments, next } = page.value;
      return done(
        "Payments",
        [
          views.paymentsTable("Orphan payments (no account matched)", orphans, actions, true),
          views.paymentsTable("Payments, newest first", payments, actions, false),
          ...older(view, next),
        ],
        `${count(payments.length, "payment")}, ${count(orphans.length, "orphan")}`,
      );
    }
    case "codes": {
      const a = await get<Page<"codes", Code>>(listUrl("codes", { after: view.after }), "list codes");
      if (!a.ok) return a;
      const { codes, next } = a.value;
      return done(
        "Codes",
        [views.codesTable("Codes issued, newest first", codes, actions, true), ...older(view, next)],
        count(codes.length, "code"),
      );
    }
    case "sms": {
      const a = await get<Page<"messages", Sms>>(listUrl("sms", { after: view.after }), "list SMS");
      if (!a.ok) return a;
      const { messages, next } = a.value;
      return done(
        "SMS",
        [views.smsTable("SMS, newest first", messages, actions), ...older(view, next)],
        count(messages.length, "SMS", "SMS"),
      );
    }
    case "audit": {
      const url = `/api/v1/audit?${new URLSearchParams({ after: view.after ?? "0", limit: String(LIMIT) })}`;
      const a = await get<{ entries: AuditEntry[] }>(url, "read the audit log");
      // A key below admin scope sees why, in the view itself: the rest of the console stays usable.
      if (!a.ok && a.status === 403) return done("Audit log", [make("p", a.line)], a.line, true);
      if (!a.ok) return a;
      const { entries } = a.value;
      // Oldest first, paged by the last entry's id: a full page may have more after it.
      const last = entries.length === LIMIT ? String(entries[entries.length - 1].auditId) : null;
      const more =
        last === null ? [] : [button("Later entries", () => void show({ kind: "audit", after: last }, true))];
      return done(
        "Audit log",
        [views.auditTable(entries), ...more],
        count(entries.length, "audit entry", "audit entries"),
      );
    }
    case "device": {
      const serial = encodeURIComponent(view.serial);
      const [device, codes, sms] = await Promise.all([
        get<{ device: Device }>(`/api/v1/devices/${serial}`, `read device ${view.serial}`),
        get<Page<"codes", Code>>(listUrl("codes", { serial: view.serial }), `list the codes of ${view.serial}`),
        get<Page<"messages", Sms>>(listUrl("sms", { serial: view.serial }), `list the SMS of ${view.serial}`),
      ]);
      if (!device.ok) return device;
      if (!codes.ok) return codes;
      ui.issueSerial.value = view.serial;
      ui.assignSerial.value = view.serial;
      ui.desiredSerial.value = view.serial;
      return done(
        `Device ${view.serial}`,
        [
          views.deviceSummary(device.value.device),
          views.codesTable("Codes issued and entered", codes.value.codes, actions, false),
          // A hub without an SMS outbox answers 404 here: the device is still shown, with that line.
          sms.ok ? views.smsTable("SMS", sms.value.messages, actions) : make("p", sms.line),
        ],
        `device ${view.serial}: ${count(codes.value.codes.length, "code")}`,
      );
    }
    case "search": {
      const [devices, payments] = await Promise.all([
        get<Page<"devices", Device>>(listUrl("devices", { q: view.q }), "search devices"),
        get<Page<"payments", Payment>>(listUrl("payments", { q: view.q }), "search payments"),
      ]);
      if (!devices.ok) return devices;
      if (!payments.ok) return payments;
      const found = devices.value.devices.length + payments.value.payments.length;
      return done(
        `Search: ${view.q}`,
        [
          views.devicesTable(devices.value.devices, actions),
          views.paymentsTable("Payments", payments.value.payments, actions, false),
        ],
        `${count(devices.value.devices.length, "device")} and ${count(payments.value.payments.length, "payment")} ` +
          `match "${view.q}"${found === 0 ? ": try a serial, a phone or a transaction id" : ""}`,
      );
    }
  }
}

function done(title: string, nodes: Node[], summary: string, bad = false): Answer<Drawn> {
  return { ok: true, value: { title, nodes, summary, bad } };
}

/** Draws the current view again when it is one of `kinds` (one an action just changed). */
async function redraw(...kinds: View["kind"][]): Promise<void> {
  if (kinds.includes(current.kind)) await show(current);
}

/** Reads the orphan payments and offers them in the assign form. */
async function refreshOrphans(): Promise<Answer<unknown>> {
  const a = await get<{ payments: Payment[] }>("/api/v1/payments/orphans", "list orphan payments");
  if (!a.ok) return a;
  orphans = a.value.payments;
  ui.assignPayment.replaceChildren(
    ...orphans.map((p, i) => {
      const option = make("option", `${p.transId}, ${money(p.amount, p.currency)}, typed "${p.accountRef}"`);
      option.value = String(i);
      return option;
    }),
  );
  return a;
}

async function signIn(typed: string): Promise<void> {
  key = typed;
  say("signing in…");
  if (!(await show({ kind: "devices" }))) {
    key = undefined;
    return;
  }
  sessionStorage.setItem(KEY_ITEM, typed);
  ui.key.value = "";
  ui.signin.hidden = true;
  ui.signed.hidden = false;
  ui.signedAs.textContent = `signed in with key …${typed.slice(-4)}`;
  ui.main.hidden = false;
  // The sign-in form is gone: keyboard focus moves to what it opened.
  ui.view.focus();
  await refreshOrphans();
}

/** `refused`: the line of the key's refusal (shown as an error), or none when the person signed out. */
function signOut(refused?: string): void {
  key = undefined;
  sessionStorage.removeItem(KEY_ITEM);
  ui.main.hidden = true;
  ui.signed.hidden = true;
  ui.signin.hidden = false;
  ui.viewBody.replaceChildren();
  ui.issued.textContent = "";
  ui.desiredCode.textContent = "";
  orphans = [];
  forgetReversal();
  ui.assignPayment.replaceChildren();
  say(refused ?? "signed out: this tab forgot the key", refused !== undefined);
  ui.key.focus();
}

async function issue(): Promise<void> {
  const action = ui.issueAction.value as AdHocAction;
  if (!AD_HOC_ACTIONS.includes(action)) return say(`unknown code ${action}`, true);
  const serial = ui.issueSerial.value.trim();
  const body = {
    action,
    note: ui.issueReason.value.trim(),
    sms: ui.issueSms.checked,
    ...(action === "goodwill" ? { days: Number(ui.issueDays.value) } : {}),
  };
  ui.issued.textContent = "";
  const a = await post<AdHocAnswer>(`/api/v1/devices/${encodeURIComponent(serial)}/codes`, "issue codes", body);
  if (!a.ok) return failed(a);
  const { code, sms } = a.value;
  ui.issued.textContent = views.keycode(code);
  ui.issueReason.value = "";
  await redraw("codes", "device", "devices");
  say(
    `issued a ${action} code (${code.kind}, seq ${code.seq ?? "-"}) for ${code.serial}: ${views.keycode(code)}` +
      smsQueued(sms),
  );
}

async function assign(): Promise<void> {
  const payment = orphans[ui.assignPayment.selectedIndex];
  if (payment === undefined) return say("no orphan payment to assign: open Payments to read them again", true);
  const url = `/api/v1/payments/${encodeURIComponent(payment.provider)}/${encodeURIComponent(payment.transId)}/assign`;
  const body = { serial: ui.assignSerial.value.trim(), reason: ui.assignReason.value.trim() };
  const a = await post<{ payment: Payment }>(url, "assign payments", body);
  if (!a.ok) return failed(a);
  ui.assignReason.value = "";
  const p = a.value.payment;
  await show(current.kind === "payments" ? current : { kind: "payments" });
  await refreshOrphans();
  say(`payment ${p.transId} assigned to ${p.serial ?? "-"}: ${p.status}, code ${views.keycode(p.code)}`);
}

async function desired(): Promise<void> {
  const serial = ui.desiredSerial.value.trim();
  const body = {
    days: Number(ui.desiredDays.value),
    reason: ui.desiredReason.value.trim(),
    sms: ui.desiredSms.checked,
  };
  ui.desiredCode.textContent = "";
  const url = `/api/v1/devices/${encodeURIComponent(serial)}/desired`;
  const a = await post<DesiredAnswer>(url, "set the credit", body);
  if (!a.ok) return failed(a);
  const { code, chose, days, sms } = a.value;
  ui.desiredCode.textContent = views.keycode(code);
  ui.desiredReason.value = "";
  await redraw("codes", "device", "devices");
  // An add is the calendar's difference: say what it assumes the device holds.
  const how =
    chose === "set"
      ? `a set code makes it ${days} days`
      : `no set code carries ${days} days: an add of ${(code.seconds ?? 0) / 86_400} days reaches it from the calendar's credit`;
  say(
    `credit of ${code.serial}: ${how} (${code.kind}, seq ${code.seq ?? "-"}): ${views.keycode(code)}${smsQueued(sms)}`,
  );
}

/** The status line's tail for a code's SMS: its outbox id when one was queued (the form's box was ticked). */
function smsQueued(sms: { readonly messageId: number } | null): string {
  return sms === null ? "" : `, SMS ${sms.messageId} queued`;
}

function forgetReversal(): void {
  reversing = undefined;
  ui.reverseConfirm.hidden = true;
  ui.reverseQuestion.textContent = "";
  ui.reversePayment.textContent = "Choose a payment's Reverse… button in Payments.";
}

/** The form's first step: nothing is sent, the person is asked to confirm what the reversal does. */
function askReversal(): void {
  if (reversing === undefined) return say("no payment chosen: use a payment's Reverse… button in Payments", true);
  ui.reverseQuestion.textContent =
    `Reverse ${paymentName(reversing)} with the note "${ui.reverseNote.value.trim()}"? Its money is owed again: ` +
    `the account's next payments fill it before buying credit. A code already issued for it stays with the device.`;
  ui.reverseConfirm.hidden = false;
  ui.reverseYes.focus();
}

async function reverse(): Promise<void> {
  const payment = reversing;
  if (payment === undefined) return;
  ui.reverseConfirm.hidden = true;
  const url = `/api/v1/payments/${encodeURIComponent(payment.provider)}/${encodeURIComponent(payment.transId)}/reverse`;
  const a = await post<{ payment: Payment }>(url, "reverse payments", { reason: ui.reverseNote.value.trim() });
  if (!a.ok) return failed(a);
  ui.reverseNote.value = "";
  forgetReversal();
  const p = a.value.payment;
  await redraw("payments", "search", "device");
  say(`payment ${p.transId} ${p.replayed === true ? "was already reversed" : "reversed"}: ${p.status}`);
}

/** Runs `action` when `form` is submitted, in place of the browser's navigation. */
function onSubmit(form: HTMLFormElement, action: () => void): void {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    action();
  });
}

onSubmit(ui.signin, () => {
  const typed = ui.key.value.trim();
  if (typed !== "") void signIn(typed);
});
ui.signout.addEventListener("click", () => signOut());
onSubmit(ui.search, () => {
  const q = ui.query.value.trim();
  if (q !== "") void show({ kind: "search", q }, true);
});
for (const b of ui.nav) b.addEventListener("click", () => void show({ kind: b.dataset.view as ListView["kind"] }));
onSubmit(ui.issue, () => void issue());
onSubmit(ui.assign, () => void assign());
onSubmit(ui.desired, () => void desired());
onSubmit(ui.reverse, askReversal);
ui.reverseYes.addEventListener("click", () => void reverse());
ui.reverseNo.addEventListener("click", () => {
  ui.reverseConfirm.hidden = true;
  say("reversal cancelled: nothing was sent");
});
ui.issueAction.addEventListener("change", () => (ui.issueDays.disabled = ui.issueAction.value !== "goodwill"));

const kept = sessionStorage.getItem(KEY_ITEM);
if (kept !== null) void signIn(kept);
