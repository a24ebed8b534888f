// Building the console's elements. Every value shown is set as text (textContent, or a text node through append),
// never parsed as markup: payment references, names, phone numbers and SMS come from providers and customers.

/** The page's element by id; a missing one is a bug of the page, said at load. */
export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the console page has no #${id}`);
  return found as T;
}

/** What a table cell holds: text, or a node built here (a button, a link-like button). */
export type Cell = string | number | null | Node;

export function text(value: string | number | null): string {
  return value === null ? "-" : String(value);
}

/** An element with its text. */
export function make<K extends keyof HTMLElementTagNameMap>(tag: K, content = ""): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  made.textContent = content;
  return made;
}

/** A table with a caption, column headers (scope="col") and one row per item; `empty` when there is none. */
export function table(
  caption: string,
  headers: readonly string[],
  rows: readonly Cell[][],
  empty: string,
): HTMLElement {
  if (rows.length === 0) {
    const none = make("p", `${caption}: ${empty}`);
    none.className = "empty";
    return none;
  }
  const t = document.createElement("table");
  t.append(make("caption", caption));
  const head = t.createTHead().insertRow();
  for (const h of headers) {
    const th = make("th", h);
    th.scope = "col";
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else td.textContent = text(cell);
    }
  }
  return t;
}

/** A button that runs `action` (keyboard: Enter and Space, as every button). */
export function button(label: string, action: () => void, name?: string): HTMLButtonElement {
  const b = make("button", label);
  b.type = "button";
  if (name !== undefined) b.setAttribute("aria-label", name);
  b.addEventListener("click", action);
  return b;
}

/** Minor units as money: 15000 KES -> "KES 150.00". */
export function money(amount: number, currency: string): string {
  return `${currency} ${(amount / 100).toFixed(2)}`;
}

/** An ISO time as "2026-12-06 01:45" (UTC, as the hub stores it). */
export function when(iso: string | null): string {
  if (iso === null) return "-";
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)/.exec(iso);
  return m === null ? iso : `${m[1]} ${m[2]}`;
}
