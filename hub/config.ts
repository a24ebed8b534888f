// The hub's settings, read once at start from the environment (and an optional .env-style file beneath it) and
// checked: a missing or malformed setting stops the hub with one line naming the variable and the fix.
import fs from "fs";
import { isIP } from "net";
import { UsageError } from "../fleet/errors";

export interface HubConfig {
  /** The secret path segment of Daraja's callback URLs (/c2b/<token>/...): Daraja does not sign its callbacks. */
  readonly mpesaToken: string;
  /** Daraja short codes (paybill or till numbers) this hub takes payments for. */
  readonly shortCodes: readonly string[];
  /** Addresses or CIDR blocks Daraja calls from; empty: any (a warning at start). */
  readonly mpesaAllow: readonly string[];
  /** Proxies whose X-Forwarded-For is believed (the TLS terminator in front); empty: none. */
  readonly trustedProxies: readonly string[];
  /** HMAC-SHA-256 key of the signed JSON webhook; null: the webhook is off. */
  readonly webhookSecret: string | null;
  /** Window rule: a code delivered this many days ago counts as entered. */
  readonly enteredAfterDays: number;
  /** For local numbers in account references (07XX...): the country's calling code. */
  readonly countryCode: string;
  /** Operator API requests a minute per key (per address without one); past it 429 with retry-after. */
  readonly apiPerMinute: number;
  readonly logLevel: string;
}

/** The operator API's rate limit unless SOLKEY_API_PER_MINUTE says otherwise. */
export const API_PER_MINUTE = 600;

type Env = Readonly<Record<string, string | undefined>>;

/** KEY=VALUE lines (# comments, optional quotes); the real environment wins over the file. */
export function readEnvFile(file: string): Record<string, string> {
  if (!fs.existsSync(file)) throw new UsageError(`no settings file ${file}`);
  const out: Record<string, string> = {};
  fs.readFileSync(file, "utf8")
    .split(/\r?\n/)
    .forEach((line, i) => {
      const t = line.trim();
      if (t === "" || t.startsWith("#")) return;
      const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=\s*(.*)$/.exec(t);
      if (m === null) throw new UsageError(`${file}:${i + 1}: expected KEY=VALUE, got "${t.slice(0, 40)}"`);
      out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
    });
  return out;
}

/** The hub's configuration from `env`; a UsageError naming the variable when one is missing or wrong. */
export function parseConfig(env: Env): HubConfig {
  const token = _required(env, "SOLKEY_MPESA_TOKEN", "a random path token, e.g. `openssl rand -hex 16`");
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token))
    throw new UsageError(
      "SOLKEY_MPESA_TOKEN expected 16-128 letters, digits, '-' or '_' (e.g. `openssl rand -hex 16`)",
    );
  const shortCodes = _list(_required(env, "SOLKEY_MPESA_SHORTCODES", "the paybill/till numbers served, e.g. 600638"));
  for (const c of shortCodes)
    if (!/^\d{5,7}$/.test(c))
      throw new UsageError(`SOLKEY_MPESA_SHORTCODES expected 5-7 digit short codes, got "${c}"`);
  const webhookSecret = env.SOLKEY_WEBHOOK_SECRET ?? null;
  if (webhookSecret !== null && webhookSecret.length < 32)
    throw new UsageError("SOLKEY_WEBHOOK_SECRET expected at least 32 characters (e.g. `openssl rand -hex 32`)");
  const days = env.SOLKEY_ENTERED_AFTER_DAYS ?? "3";
  if (!/^\d{1,2}$/.test(days) || Number(days) < 1)
    throw new UsageError(`SOLKEY_ENTERED_AFTER_DAYS expected whole days 1-99, got "${days}"`);
  const countryCode = env.SOLKEY_COUNTRY_CODE ?? "254";
  if (!/^[1-9]\d{0,2}$/.test(countryCode))
    throw new UsageError(`SOLKEY_COUNTRY_CODE expected a calling code like 254, got "${countryCode}"`);
  const perMinute = env.SOLKEY_API_PER_MINUTE ?? String(API_PER_MINUTE);
  if (!/^\d{1,6}$/.test(perMinute) || Number(perMinute) < 1)
    throw new UsageError(
      `SOLKEY_API_PER_MINUTE expected operator API requests a minute per key, 1-999999, got "${perMinute}"`,
    );
  return {
    mpesaToken: token,
    shortCodes,
    mpesaAllow: _addresses(env, "SOLKEY_MPESA_ALLOW"),
    trustedProxies: _addresses(env, "SOLKEY_TRUSTED_PROXIES"),
    webhookSecret,
    enteredAfterDays: Number(days),
    countryCode,
    apiPerMinute: Number(perMinute),
    logLevel: env.SOLKEY_LOG_LEVEL ?? "info",
  };
}

function _required(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new UsageError(`${name} is not set: ${what} (environment or --env-file)`);
  return value;
}

function _list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function _addresses(env: Env, name: string): string[] {
  const list = _list(env[name]);
  for (const a of list) {
    const [ip, bits, extra] = a.split("/");
    const family = isIP(ip);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)))
      throw new UsageError(`${name} expected IP addresses or CIDR blocks (196.201.214.0/24), got "${a}"`);
  }
  return list;
}
