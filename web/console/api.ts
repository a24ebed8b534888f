// The console's client of the hub's operator API (same origin, /api/v1): a bearer key on every request, and every
// failure turned into one line a person can act on (key refused, scope too small, too many requests, hub down).

/** What a call gives: the JSON answer, or the line to show. */
export type Answer<T> = { readonly ok: true; readonly value: T } | Failure;

/** `status`: the HTTP status, 0 when the hub did not answer. */
export interface Failure {
  readonly ok: false;
  readonly status: number;
  readonly line: string;
}

/** `what`: the action in words, for a refusal ("issue codes": "this key's scope cannot issue codes"). */
export async function call<T>(
  key: string,
  method: "GET" | "POST",
  url: string,
  what: string,
  body?: object,
): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch {
    return {
      ok: false,
      status: 0,
      line: `cannot ${what}: the hub did not answer (network down or hub stopped); try again`,
    };
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    json = undefined;
  }
  if (response.ok && json !== undefined) return { ok: true, value: json as T };
  const said = typeof (json as { error?: unknown })?.error === "string" ? (json as { error: string }).error : "";
  const wait = response.headers.get("retry-after");
  return { ok: false, status: response.status, line: refusal(response.status, what, said, wait) };
}

/**
 * The line for an answer that is not a success; `said`: the hub's own error text, if any; `retryAfter`: a 429's
 * retry-after header (seconds until the hub takes this key's requests again).
 */
export function refusal(status: number, what: string, said: string, retryAfter: string | null = null): string {
  if (status === 401) return "key refused: sign in with a live key from `solkey apikey create`";
  if (status === 403) return `this key's scope cannot ${what}${said ? ` (${said})` : ""}`;
  if (status === 429) {
    const wait = retryAfter !== null && /^\d{1,5}$/.test(retryAfter) ? `${retryAfter} s` : "a minute";
    return `too many requests from this key: wait ${wait}, then ${what} again`;
  }
  if (status >= 500) return `the hub could not ${what} now (${status}${said ? `: ${said}` : ""}); try again`;
  return `cannot ${what}: ${said || `the hub answered ${status}`}`;
}
