// Inbound SMS: the form Africa's Talking posts to the hub's /sms/<token>/inbound (from, to, text, date, id, linkId)
// and the keywords a customer may send in each template language: RESEND (the last code again) and BALANCE.
import { formField } from "./delivery";
import { LANGUAGES, type Language } from "./templates";

export interface InboundSms {
  /** The sender's number as AT gives it (E.164); answered only when it is an account's registered phone. */
  readonly from: string;
  /** The short code or number it was sent to. */
  readonly to: string;
  readonly text: string;
  /** AT's date field as posted (e.g. `2026-12-05 09:30:00`). */
  readonly date: string;
  /** AT's id for this message: a repeated callback carries the same id, so it is handled once. */
  readonly id: string;
  readonly linkId: string | undefined;
}

export type InboundCommand = { readonly kind: "resend" | "balance"; readonly language: Language };

/** Words a customer may send, per language. Matching ignores case, accents, punctuation and spaces. */
export const KEYWORDS: Readonly<Record<Language, Readonly<Record<InboundCommand["kind"], readonly string[]>>>> = {
  en: { resend: ["RESEND", "CODE", "SEND CODE", "RESEND CODE", "AGAIN"], balance: ["BALANCE", "BAL"] },
  sw: { resend: ["TENA", "TUMA TENA", "RUDIA", "MSIMBO"], balance: ["SALIO", "DENI"] },
  fr: { resend: ["RENVOI", "RENVOYER", "RENVOIE", "ENCORE"], balance: ["SOLDE", "RESTE", "RESTE À PAYER"] },
};

/** RESEND answers at most this many times per phone in the window (each is a paid SMS: a loop must not drain it). */
export const RESEND_LIMIT = Object.freeze({ count: 3, windowMs: 24 * 3600_000 });

/** An inbound SMS longer than this is no keyword; longer texts are cut when stored. */
const MAX_TEXT = 1600;

const _commands: ReadonlyMap<string, InboundCommand> = (() => {
  const map = new Map<string, InboundCommand>();
  for (const language of LANGUAGES)
    for (const kind of ["resend", "balance"] as const)
      for (const word of KEYWORDS[language][kind]) {
        const key = normalizeKeyword(word);
        if (map.has(key)) throw new Error(`keyword ${word} is listed twice`);
        map.set(key, Object.freeze({ kind, language }));
      }
  return map;
})();

/** The command a whole text asks for, or undefined (unknown text gets no answer). */
export function recognizeCommand(text: string): InboundCommand | undefined {
  if (typeof text !== "string" || text.length > 100) return undefined;
  return _commands.get(normalizeKeyword(text));
}

/** `  Tuma tena! ` -> `TUMATENA`: upper case, accents dropped, only letters and digits. */
export function normalizeKeyword(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "");
}

/** Whether another RESEND may be answered now, given when the earlier ones for this phone were answered. */
export function resendAllowed(earlier: readonly number[], now: number): boolean {
  return earlier.filter((t) => t > now - RESEND_LIMIT.windowMs && t <= now).length < RESEND_LIMIT.count;
}

/** The posted form as an inbound SMS, or the reason it is not one (answer 400 with it). */
export function parseInbound(form: URLSearchParams): InboundSms | { readonly error: string } {
  const fields = {
    from: formField(form, "from"),
    to: formField(form, "to"),
    text: form.get("text")?.slice(0, MAX_TEXT) ?? "",
    date: formField(form, "date") ?? "",
    id: formField(form, "id"),
    linkId: formField(form, "linkId"),
  };
  for (const name of ["from", "to", "id"] as const)
    if (fields[name] === undefined) return { error: `inbound SMS without ${name}` };
  return fields as InboundSms;
}
