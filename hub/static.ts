// Static pages with one Content-Security-Policy: a page's files in memory and the one answer both `solkey web` and
// the hub (hub/plugins/pages.ts) give for them, so the two servers send identical files and headers.
import type http from "http";

/**
 * Only the page's own script, styles and files; no inline script or style, no fetch, no frames, no form posts. The
 * favicon is an empty data: URL so the browser asks for nothing else.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONTENT_SECURITY_POLICY,
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

/** A built page: its files by path below its mount point ("/" is the page), and the bundle's measures. */
export interface BuiltPage {
  readonly assets: ReadonlyMap<string, WebAsset>;
  /** The page script, minified, and gzipped (what a compressing proxy would send). */
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly buildMs: number;
}

/**
 * Answers `request` from `assets` (`pathname` is the request's path below the mount point). Only GET and HEAD; a
 * query string is ignored. Always answers: 404 or 405 with one line of text for anything else.
 */
export function serveAsset(
  assets: ReadonlyMap<string, WebAsset>,
  method: string | undefined,
  pathname: string,
  response: http.ServerResponse,
): void {
  const asset = assets.get(pathname);
  const headers = { ...SECURITY_HEADERS };
  if (method !== "GET" && method !== "HEAD") {
    response.writeHead(405, { ...headers, allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    response.end("only GET and HEAD here\n");
  } else if (!asset) {
    response.writeHead(404, { ...headers, "content-type": "text/plain; charset=utf-8" });
    response.end(`no such file: ${pathname}; the simulator is at /\n`);
  } else {
    response.writeHead(200, { ...headers, "content-type": asset.type, "content-length": asset.body.length });
    response.end(method === "HEAD" ? undefined : asset.body);
  }
}
