// Prints a benchmark table: a title, aligned columns, and notes under it.

export type Cell = string | number;

export function printTable(title: string, headers: string[], rows: Cell[][], notes: string[] = []): void {
  const text = rows.map((row) => row.map((cell) => (typeof cell === "number" ? formatNumber(cell) : cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  process.stdout.write(`\n${title}\n${line(headers)}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n`);
  for (const row of text) process.stdout.write(`${line(row)}\n`);
  for (const note of notes) process.stdout.write(`  ${note}\n`);
}

/** Three significant digits for small values, thousands separators for large ones. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  return Number(n.toPrecision(3)).toString();
}
