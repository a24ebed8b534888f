// `solkey payments`: the operator's side of payments: orphans (no account matched) and their assignment,
// reversals, codes held by the window rule, and reconciliation against a provider's statement (the callbacks a hub
// never received are the most common operator ticket).
import type { Command } from "commander";
import fs from "fs";
import { UsageError } from "../../fleet/errors";
import type { FleetStore, PaymentOutcome } from "../../fleet/store";
import { readStatement } from "../../hub/providers/statement";
import { commandAudit, money, SECRET_KEY_OPTION, withIssuingStore, withStore } from "../store";
import { DEFAULT_DB } from "./provision";

interface Common {
  db: string;
  json?: boolean;
  provider: string;
}

type Out = (t: string) => void;

function _line(p: PaymentOutcome): string {
  const code = p.code === null ? "" : `  ${p.code.keycode} (${p.code.kind})`;
  return `${p.provider} ${p.transId}  ${p.currency} ${money(p.amount)}  ref "${p.accountRef}"  ${p.status}${p.serial === null ? "" : `  ${p.serial}`}${code}\n`;
}

function _print(o: { json?: boolean }, out: Out, value: PaymentOutcome | PaymentOutcome[]): void {
  if (o.json) return out(JSON.stringify(value) + "\n");
  out((Array.isArray(value) ? value : [value]).map(_line).join(""));
}

/** The statement's payments fed in as if their callbacks had arrived: which the hub had, which it now has. */
export async function reconcile(
  store: FleetStore,
  text: string,
): Promise<{ known: PaymentOutcome[]; added: PaymentOutcome[] }> {
  let rows;
  try {
    rows = readStatement(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const outcomes = await Promise.all(rows.map((r) => store.receive(r.payment)));
  return { known: outcomes.filter((p) => p.replayed), added: outcomes.filter((p) => !p.replayed) };
}

export async function runReconcile(file: string, o: Common, out: Out): Promise<void> {
  if (!fs.existsSync(file)) throw new UsageError(`no statement file ${file}`);
  const r = await withStore(o, (store) => reconcile(store, fs.readFileSync(file, "utf8")));
  if (o.json) return out(JSON.stringify(r) + "\n");
  out(
    `${file}: ${r.known.length + r.added.length} payments in, ${r.known.length} already received, ${r.added.length} missing now processed\n`,
  );
  out(r.added.map(_line).join(""));
}

export function register(program: Command): void {
  const payments = program.command("payments").description("payments: orphans, reversals, held codes, reconciliation");
  const common = (c: Command) =>
    c
      .option("--provider <name>", "payment provider (mpesa, or a webhook's name)", "mpesa")
      .option(
        "--db <file|url>",
        "fleet database: a SQLite file or a postgres:// URL",
        process.env.SOLKEY_DB ?? DEFAULT_DB,
      )
      .option(...SECRET_KEY_OPTION)
      .option("--json", "JSON on stdout");
  const out: Out = (t) => process.stdout.write(t);
  common(payments.command("orphans").description("payments no account matched, oldest first")).action(
    async (o: Common) => _print(o, out, await withStore(o, (s) => s.orphans())),
  );
  common(
    payments
      .command("assign")
      .description("give an orphan payment its account: it is processed as if it had just arrived")
      .argument("<transid>", "the provider's transaction id")
      .argument("<serial>", "the device serial")
      .option("--note <text>", "why, for the audit log"),
  ).action(async (transId: string, serial: string, o: Common & { note?: string }) => {
    const audit = commandAudit("payment.assign", o.note);
    _print(o, out, await withIssuingStore(o, (s) => s.assign(o.provider, transId, serial, audit)));
  });
  common(
    payments
      .command("reverse")
      .description("record a reversal: the money is owed again, before the next payments buy credit")
      .argument("<transid>", "the provider's transaction id")
      .requiredOption("--note <text>", "why (the provider's reversal reference)"),
  ).action(async (transId: string, o: Common & { note: string }) =>
    _print(
      o,
      out,
      await withStore(o, (s) => s.reverse(o.provider, transId, o.note, commandAudit("payment.reverse", o.note))),
    ),
  );
  common(
    payments
      .command("release")
      .description("issue the catch-up codes of credit held by the window rule")
      .option("--note <text>", "why, for the audit log"),
  ).action(async (o: Common & { note?: string }) => {
    const audit = commandAudit("payment.release", o.note);
    _print(o, out, await withIssuingStore(o, (s) => s.releaseHeld(audit)));
  });
  common(
    payments
      .command("reconcile")
      .description("process every payment of an M-Pesa statement (CSV export) the hub never received")
      .argument("<file>", "the statement CSV"),
  ).action((file: string, o: Common) => runReconcile(file, o, out));
}
