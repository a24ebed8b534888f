// `solkey plan`: what a payment buys (price per day, minimum, deposit, total to own), kept in the fleet database.
import type { Command } from "commander";
import { UsageError } from "../../fleet/errors";
import type { Plan } from "../../fleet/store";
import { money, moneyFlag, SECRET_KEY_OPTION, withStore, type FleetFlags } from "../store";
import { DEFAULT_DB } from "./provision";

interface PlanOptions {
  currency: string;
  perDay: string;
  min?: string;
  deposit?: string;
  total?: string;
  approveUnlock?: boolean;
  db: string;
  json?: boolean;
}

export function describePlan(p: Plan): string {
  const c = p.currency;
  const parts = [`${c} ${money(p.perDay)}/day`, `min ${money(p.minPayment)}`, `deposit ${money(p.deposit)}`];
  if (p.total !== null) parts.push(`total ${money(p.total)}${p.approveUnlock ? " (unlock after approval)" : ""}`);
  return `${p.name}: ${parts.join(", ")}`;
}

export async function runPlanAdd(name: string, o: PlanOptions, out: (t: string) => void): Promise<void> {
  if (!/^[A-Za-z][\w-]{0,31}$/.test(name))
    throw new UsageError(`plan NAME expected a word like home-50, got "${name}"`);
  const currency = o.currency.toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw new UsageError(`--currency expected a 3-letter code like KES, got "${o.currency}"`);
  const perDay = moneyFlag(o.perDay, "--per-day");
  const total = o.total === undefined ? null : moneyFlag(o.total, "--total");
  const deposit = o.deposit === undefined ? 0 : moneyFlag(o.deposit, "--deposit");
  if (total !== null && total <= deposit) throw new UsageError("--total must be above --deposit");
  if (o.approveUnlock && total === null) throw new UsageError("--approve-unlock needs --total (what unlocks)");
  const spec = {
    name,
    currency,
    perDay,
    minPayment: o.min === undefined ? perDay : moneyFlag(o.min, "--min"),
    deposit,
    total,
    approveUnlock: o.approveUnlock ?? false,
  };
  const plan = await withStore(o, (store) => store.addPlan(spec));
  out(o.json ? JSON.stringify(plan) + "\n" : `plan ${describePlan(plan)}\n`);
}

export function register(program: Command): void {
  const plan = program.command("plan").description("payment plans: what a payment buys");
  plan
    .command("add")
    .description("add a plan (amounts in major units: 50 or 49.50; kept as integer minor units)")
    .argument("<name>", "plan name, e.g. home-50")
    .requiredOption("--currency <code>", "ISO 4217 currency, e.g. KES")
    .requiredOption("--per-day <amount>", "price of one day of credit")
    .option("--min <amount>", "smallest payment that buys credit (default: one day)")
    .option("--deposit <amount>", "paid first, before any credit (default 0)")
    .option("--total <amount>", "paid in total, the device is unlocked for good")
    .option("--approve-unlock", "hold the unlock code for `solkey account approve`")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--json", "JSON on stdout")
    .addHelpText(
      "after",
      "\nExample:\n  solkey plan add home-50 --currency KES --per-day 50 --deposit 1000 --total 20000",
    )
    .action((name: string, o: PlanOptions) => runPlanAdd(name, o, (t) => process.stdout.write(t)));
  plan
    .command("list")
    .description("list the plans")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option(...SECRET_KEY_OPTION)
    .option("--json", "JSON on stdout")
    .action(async (o: FleetFlags & { json?: boolean }) => {
      const plans = await withStore(o, (store) => store.plans());
      process.stdout.write(o.json ? JSON.stringify(plans) + "\n" : plans.map((p) => describePlan(p) + "\n").join(""));
    });
}
