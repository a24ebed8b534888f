// GET /docs: the operator API's endpoints as one self-contained HTML page made from the OpenAPI document (no script,
// no style sheet, nothing from the network), served with a CSP that allows only the page itself.
export const DOCS_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Operation {
  summary?: string;
  description?: string;
}

interface OpenApiDoc {
  info: { title: string; version: string };
  paths?: Record<string, Record<string, Operation>>;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function docsPage(doc: OpenApiDoc): string {
  const rows = Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
    METHODS.filter((m) => ops[m] !== undefined).map((m) => {
      const op = ops[m];
      return (
        `<tr><td>${m.toUpperCase()}</td><td><code>${escape(path)}</code></td>` +
        `<td>${escape(op.description ?? "")}</td><td>${escape(op.summary ?? "")}</td></tr>`
      );
    }),
  );
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(doc.info.title)}</title></head>` +
    `<body><h1>${escape(doc.info.title)} v${escape(doc.info.version)}</h1>` +
    `<p>Send <code>Authorization: Bearer &lt;key&gt;</code> (<code>solkey apikey create</code>). ` +
    `The machine-readable document: <a href="/docs/json">/docs/json</a>; the contract: docs/API.md.</p>` +
    `<table><thead><tr><th>Method</th><th>Path</th><th>Scope</th><th>What</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table></body></html>`
  );
}
