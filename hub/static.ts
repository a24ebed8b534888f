// Static pages with a strict Content-Security-Policy: a page's files in memory and the one answer both `solkey web`
// and the hub (hub/plugins/pages.ts) give for them, so the two servers send identical files and headers.
import type http from "http";

/**
 * Only the page's own script, styles and files; no inline script or style, no frames, no form posts. The favicon is
 * an empty data: URL so the browser asks for nothing else. `connect`: whether the page's script may call its own
 * origin (the console reads the hub's API) or nothing at all (the device simulator).
 */
export function pagePolicy(connect: "none" | "self"): string {
  return (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    `connect-src '${connect}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
  );
}

/** The device simulator's policy: it fetches nothing. */
export const CONTENT_SECURITY_POLICY = pagePolicy("none");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  // A new build is picked up at the next load; the files are small and local.
  "cache-control": "no-cache",
});

export interface WebAsset {
  readonly type: string;
  readonly body: Buffer;
}

/** A built page: its files by path below its mount point ("/" is the page), its policy, and the bundle's measures. */
export interface BuiltPage {
  /** What the page is, for messages ("device simulator"). */
  readonly title: string;
  readonly assets: ReadonlyMap<string, WebAsset>;
  /** Its Content-Security-Policy (pagePolicy). */
  readonly policy: string;
  /** The page script, minified, and gzipped (what a compressing proxy would send). */
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly buildMs: number;
}

/**
 * Answers `request` from `page` (`pathname` is the request's path below the mount point). Only GET and HEAD; a
 * query string is ignored. Always answers: 404 or 405 with one line of text for anything else.
 */
export function serveAsset(
  page: BuiltPage,
  method: string | undefined,
  pathname: string,
  response: http.ServerResponse,
): void {
  const asset = page.assets.get(pathname);
  const headers = { ...SECURITY_HEADERS, "content-security-policy": page.policy };
  if (method !== "GET" && method !== "HEAD") {
    response.writeHead(405, { ...headers, allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    response.end("only GET and HEAD here\n");
  } else if (!asset) {
    response.writeHead(404, { ...headers, "content-type": "text/plain; charset=utf-8" });
    response.end(`no such file: ${pathname}; the ${page.title} is at ./\n`);
  } else {
    response.writeHead(200, { ...headers, "content-type": asset.type, "content-length": asset.body.length });
    response.end(method === "HEAD" ? undefined : asset.body);
  }
}
