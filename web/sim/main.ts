// The web device simulator's page script: draws the browser host's controller (hosts/browser/device.ts, which runs
// the firmware's own modules) with its keypad, LED, buzzer, load and credit, and lets a person start a demo device or
// load a provisioned one. Everything shown is set as text (textContent), never as markup.
import { decodeProvision } from "../../firmware/provision/record";
import { BrowserDevice } from "../../hosts/browser/device";
import { deviceFromFiles, type ImageFile } from "../../hosts/browser/images";
import { DEMO_PROTOCOLS, demoProvision, type DemoProtocol } from "../../hosts/node/simdemo";
import { wiringOf, type TraceEvent } from "../../hosts/node/simdevice";
import { formatDuration } from "../../hosts/node/simlive";

/** The demo device a first visit starts with (as `solkey sim` does). */
const FIRST_DEMO: DemoProtocol = "nexus-full";
/** Events kept in the page's log. */
const LOG_LINES = 40;

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const ui = {
  status: element("status"),
  led: element("led"),
  buzzer: element("buzzer"),
  load: element("load"),
  credit: element("credit"),
  keypad: element("keypad"),
  power: element<HTMLButtonElement>("power"),
  slower: element<HTMLButtonElement>("slower"),
  faster: element<HTMLButtonElement>("faster"),
  speed: element("speed"),
  keyTime: element("key-time"),
  deviceLine: element("device-line"),
  image: element<HTMLInputElement>("image"),
  drop: element("drop"),
  error: element("error"),
  codes: element("codes"),
  log: element("log"),
};

/** What the status region says, from the device's events (not the ticking credit: a live region must not chatter). */
const said = { boot: "starting", load: false, credit: undefined as number | "unlocked" | undefined };
let codesStale = true;

const host = new BrowserDevice({
  store: window.localStorage,
  realNow: () => performance.now(),
  speed: 60,
  onEvent: (event) => {
    if (event.type === "boot") said.boot = event.status;
    if (event.type === "fault") said.boot = "fault";
    if (event.type === "load") said.load = event.on;
    if (event.type === "credit") said.credit = event.seconds;
    if (event.type === "feedback" && event.pattern !== "key") codesStale = true;
    if (!(event.type === "feedback" && event.pattern === "key")) log(event);
  },
});

function log(event: TraceEvent): void {
  const { t, type, ...rest } = event;
  const detail = Object.entries(rest)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  logLine(t, `${type}${detail ? `: ${detail}` : ""}`);
}

/** One line of the log, newest first; `t`: the simulation's ms. */
function logLine(t: number, text: string): void {
  const line = document.createElement("li");
  line.textContent = `${formatDuration(t / 1000)}  ${text}`;
  ui.log.prepend(line);
  while (ui.log.childElementCount > LOG_LINES) ui.log.lastElementChild?.remove();
}

function statusText(): string {
  if (said.boot === "not_provisioned") return "not provisioned: load off";
  if (said.boot === "locked") return "locked (journal unreadable, see solkey recover): load off";
  if (said.boot === "fault") return "fault: load off";
  const credit =
    said.credit === undefined
      ? "credit unknown"
      : said.credit === "unlocked"
        ? "unlocked"
        : said.credit > 0
          ? `credit ${formatDuration(said.credit)}`
          : "no credit";
  return `load ${said.load ? "on" : "off"}, ${credit}`;
}

/** Draws the device's outputs; the live region and the codes change only when what they say changed. */
function render(): void {
  const live = host.live;
  const view = live?.view();
  ui.led.classList.toggle("on", view?.led === true);
  ui.buzzer.classList.toggle("on", view?.buzzer === true);
  ui.load.classList.toggle("on", view?.load === true);
  const credit = view?.credit;
  ui.credit.textContent = credit === undefined ? "-" : credit === "unlocked" ? "unlocked" : formatDuration(credit);
  ui.speed.textContent = view === undefined ? "-" : view.typing ? "x1 (typing)" : `x${view.speed}`;
  const text = statusText();
  if (ui.status.textContent !== text) ui.status.textContent = text;
  if (host.lastKeyMs !== undefined) ui.keyTime.textContent = `${host.lastKeyMs.toFixed(2)} ms`;
  if (codesStale && live) {
    codesStale = false;
    ui.codes.replaceChildren(...codeItems(live.codes()));
  }
}

function codeItems(codes: ReturnType<NonNullable<BrowserDevice["live"]>["codes"]>): HTMLLIElement[] {
  const item = (keys: string | undefined, what: string) => {
    const li = document.createElement("li");
    if (keys !== undefined) {
      const code = document.createElement("code");
      code.textContent = keys;
      li.append(code, " ");
    }
    li.append(what);
    return li;
  };
  if (codes === undefined)
    return [item(undefined, "This device does not use the demo key: issue its codes with `solkey issue`.")];
  return codes.map((c) => item(c.keys, c.what));
}

/** Draws the keypad the provisioning record wires: 12 keys, the small 4+1, or restricted OpenPAYGO's 4. */
function drawKeypad(provision: Uint8Array): void {
  const wiring = wiringOf(provision);
  const keys = wiring?.keys ?? "";
  ui.keypad.className = `keypad keys-${keys.length}`;
  ui.keypad.replaceChildren(
    ...[...keys].map((key) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = key;
      button.dataset.key = key;
      button.addEventListener("click", () => press(key));
      return button;
    }),
  );
  const read = decodeProvision(provision);
  ui.deviceLine.textContent =
    read.kind === "provisioned"
      ? `${read.record.protocol}, ${read.record.keypad} keypad, id ${read.record.deviceId}, on a simulated ` +
        `${read.record.board}`
      : "not provisioned";
}

function press(key: string): void {
  const button = ui.keypad.querySelector<HTMLButtonElement>(`button[data-key="${CSS.escape(key)}"]`);
  if (!button || !host.press(key)) return;
  button.classList.add("down");
  setTimeout(() => button.classList.remove("down"), 120);
  render();
}

function powerCut(): void {
  logLine(host.live?.sim.now ?? 0, "power cut");
  host.powerCut();
}

/** Starts `provision` with `journal`: a demo on a new chip, or a loaded image written as a flash programmer would. */
function start(provision: Uint8Array, journal?: Uint8Array, loaded = false): void {
  said.boot = "starting";
  said.credit = undefined;
  said.load = false;
  codesStale = true;
  ui.log.replaceChildren();
  drawKeypad(provision);
  if (!loaded) host.install({ provision, journal });
  else if (host.writeFlash({ provision, journal }))
    logLine(host.live?.sim.now ?? 0, "same device: its chip's OTP bits (mark and anchor) stay, as on a real chip");
  render();
}

async function loadFiles(list: FileList | null): Promise<void> {
  const files: ImageFile[] = await Promise.all(
    [...(list ?? [])].map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
  const read = deviceFromFiles(files);
  if (!read.ok) {
    ui.error.textContent = read.error;
    return;
  }
  ui.error.textContent = "";
  start(read.device.provision, read.device.journal, true);
}

for (const button of document.querySelectorAll<HTMLButtonElement>("button[data-demo]")) {
  const protocol = button.dataset.demo as DemoProtocol;
  if (!DEMO_PROTOCOLS.includes(protocol)) throw new Error(`unknown demo ${protocol}`);
  button.addEventListener("click", () => {
    ui.error.textContent = "";
    start(demoProvision(protocol));
  });
}
ui.power.addEventListener("click", () => {
  powerCut();
  render();
});
ui.slower.addEventListener("click", () => (host.stepSpeed(-1), render()));
ui.faster.addEventListener("click", () => (host.stepSpeed(1), render()));
ui.image.addEventListener("change", () => void loadFiles(ui.image.files));
ui.drop.addEventListener("dragover", (e) => e.preventDefault());
ui.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  void loadFiles(e.dataTransfer?.files ?? null);
});
document.addEventListener("keydown", (e) => {
  const target = e.target as HTMLElement | null;
  if (e.ctrlKey || e.metaKey || e.altKey || target?.closest("input, select, textarea")) return;
  if (e.key === "p") powerCut();
  else if (e.key === "+" || e.key === "-") host.stepSpeed(e.key === "+" ? 1 : -1);
  else if (e.key === "c") codesStale = true;
  else if (e.key.length === 1 && ui.keypad.querySelector(`button[data-key="${CSS.escape(e.key)}"]`)) press(e.key);
  else return;
  e.preventDefault();
  render();
});

// A page load is a power-on of the device kept in this browser; a first visit gets a demo device.
if (host.resume()) {
  drawKeypad(host.live?.sim.images().provision ?? new Uint8Array(0));
} else {
  start(demoProvision(FIRST_DEMO));
}
render();
host.run(render);
