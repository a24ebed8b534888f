// SMS settings from the environment (SOLKEY_SMS_*), checked once at start: a missing or bad one is one line naming
// the fix (UsageError). Also the gateway those settings name.
import { UsageError } from "../../fleet/errors";
import { africasTalking } from "./africastalking";
import { logGateway, type SmsGateway } from "./gateway";

export type SmsConfig =
  | { readonly driver: "log" }
  | {
      readonly driver: "africastalking";
      readonly url: string;
      readonly username: string;
      readonly apiKey: string;
      readonly from: string | undefined;
    };

export const SMS_DRIVERS = ["africastalking", "log"] as const;

/**
 * SOLKEY_SMS_DRIVER (`africastalking`, the default, or `log`); for Africa's Talking SOLKEY_SMS_URL,
 * SOLKEY_SMS_USERNAME and SOLKEY_SMS_API_KEY, and SOLKEY_SMS_FROM (a sender ID or short code; unset: the account's
 * default sender). The API key travels in a header, so a plain http:// URL is refused unless it is the loopback
 * (a local stand-in).
 */
export function smsConfig(env: Readonly<Record<string, string | undefined>>): SmsConfig {
  const driver = _value(env, "SOLKEY_SMS_DRIVER") ?? "africastalking";
  if (driver === "log") return { driver };
  if (driver !== "africastalking")
    throw new UsageError(`SOLKEY_SMS_DRIVER expected one of ${SMS_DRIVERS.join(", ")}, got "${driver}"`);
  const url = _required(
    env,
    "SOLKEY_SMS_URL",
    "the Africa's Talking API base URL: https://api.africastalking.com (sandbox: https://api.sandbox.africastalking.com)",
  );
  _checkUrl(url);
  return {
    driver,
    url,
    username: _required(env, "SOLKEY_SMS_USERNAME", "the Africa's Talking application username (sandbox: sandbox)"),
    apiKey: _required(env, "SOLKEY_SMS_API_KEY", "the API key from the Africa's Talking dashboard"),
    from: _value(env, "SOLKEY_SMS_FROM"),
  };
}

/** The gateway a configuration names; `print` is where the log driver writes. */
export function smsGateway(config: SmsConfig, print?: (line: string) => void): SmsGateway {
  return config.driver === "log" ? logGateway(print) : africasTalking(config);
}

function _value(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function _required(env: Readonly<Record<string, string | undefined>>, name: string, what: string): string {
  const value = _value(env, name);
  if (value === undefined) throw new UsageError(`${name} is not set: ${what} (or SOLKEY_SMS_DRIVER=log for a demo)`);
  return value;
}

function _checkUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`SOLKEY_SMS_URL expected a URL such as https://api.africastalking.com, got "${text}"`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw new UsageError(`SOLKEY_SMS_URL must be https:// (the API key is sent with every request), got "${text}"`);
}
