// `solkey account`: a customer, their phone and plan, bound to one device; its balance; approving its unlock.
import type { Command } from "commander";
import { UsageError } from "../../fleet/errors";
import type { Account, Language } from "../../fleet/store";
import { commandAudit, money, SECRET_KEY_OPTION, withIssuingStore, withStore, type FleetFlags } from "../store";
import { DEFAULT_DB } from "./provision";

const LANGUAGES: readonly Language[] = ["en", "sw", "fr"];

interface AccountOptions {
  phone: string;
  plan: string;
  language: string;
  db: string;
  json?: boolean;
}

export function describeAccount(a: Account): string {
  const c = a.plan.currency;
  const lines = [
    `${a.serial}: +${a.phone}, plan ${a.plan.name}, ${a.language}`,
    `  paid ${c} ${money(a.paid)}, deposit due ${money(a.depositDue)}, toward the next day ${money(a.remainder)}`,
    `  days bought ${a.daysBought}, held ${a.heldDays}, paid until ${a.paidUntil ?? "-"}, unlock ${a.unlock}`,
  ];
  return lines.join("\n") + "\n";
}

export async function runAccountAdd(serial: string, o: AccountOptions, out: (t: string) => void): Promise<void> {
  if (!LANGUAGES.includes(o.language as Language))
    throw new UsageError(`--language expected one of ${LANGUAGES.join(", ")}, got "${o.language}"`);
  const account = await withStore(o, (store) =>
    store.addAccount({ device: serial, phone: o.phone, plan: o.plan, language: o.language as Language }),
  );
  out(o.json ? JSON.stringify(account) + "\n" : describeAccount(account));
}

export function register(program: Command): void {
  const account = program.command("account").description("customer accounts: a device, a phone and a plan");
  const db = () => process.env.SOLKEY_DB ?? DEFAULT_DB;
  account
    .command("add")
    .description("bind a device to a customer's phone and plan")
    .argument("<serial>", "device serial or id")
    .requiredOption("--phone <number>", "the customer's phone, e.g. +254712345678")
    .requiredOption("--plan <name>", "a plan from `solkey plan add`")
    .option("--language <code>", "en, sw or fr (messages to the customer)", "en")
    .option("--db <file|url>", "fleet database: a SQLite file or a postgres:// URL", db())
    .option(...SECRET_KEY_OPTION)
    .option("--json", "JSON on stdout")
    .addHelpText(
      "after",
      "\nExample:\n  solkey account add SK-00000001 --phone +254712345678 --plan home-50 --language sw",
    )
    .action((serial: string, o: AccountOptions) => runAccountAdd(serial, o, (t) => process.stdout.write(t)));
  account
    .command("show")
    .description("an account's payments so far")
    .argument("<serial>", "device serial")
    .option("--db <file|url>", "fleet database: a SQLite file or a postgres:// URL", db())
    .option(...SECRET_KEY_OPTION)
    .option("--json", "JSON on stdout")
    .action(async (serial: string, o: FleetFlags & { json?: boolean }) => {
      const a = await withStore(o, (store) => store.account(serial));
      process.stdout.write(o.json ? JSON.stringify(a) + "\n" : describeAccount(a));
    });
  account
    .command("approve")
    .description("issue the unlock code a paid-off account waits for (plans with --approve-unlock)")
    .argument("<serial>", "device serial")
    .option("--db <file|url>", "fleet database: a SQLite file or a postgres:// URL", db())
    .option(...SECRET_KEY_OPTION)
    .option("--note <text>", "why, for the audit log")
    .option("--json", "JSON on stdout")
    .action(async (serial: string, o: FleetFlags & { json?: boolean; note?: string }) => {
      const audit = commandAudit("account.approve", o.note);
      const p = await withIssuingStore(o, (store) => store.approveUnlock(serial, audit));
      process.stdout.write(o.json ? JSON.stringify(p) + "\n" : `${p.serial}  ${p.code?.keycode}  unlock\n`);
    });
}
