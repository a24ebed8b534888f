// `solkey apikey`: the operator API's keys (create shows the key once; list; revoke), kept hashed in the fleet.
import type { Command } from "commander";
import { isScope, openApiKeys, type ApiKey, type ApiKeys } from "../../fleet/apikeys";
import { UsageError } from "../../fleet/errors";
import { parseWhole } from "../../fleet/profile";
import { DEFAULT_DB } from "./provision";

interface DbOptions {
  db: string;
  json?: boolean;
}

function describeKey(k: ApiKey): string {
  const state = k.revokedAt === null ? "live" : `revoked ${k.revokedAt}`;
  return `${k.keyId}\t${k.scope}\t${k.name === "" ? "-" : k.name}\tcreated ${k.createdAt}\t${state}`;
}

async function withKeys<T>(db: string, work: (keys: ApiKeys) => Promise<T>): Promise<T> {
  const keys = await openApiKeys(db);
  try {
    return await work(keys);
  } finally {
    await keys.close();
  }
}

export async function runApikeyCreate(
  o: DbOptions & { scope: string; name?: string },
  out: (t: string) => void,
): Promise<void> {
  if (!isScope(o.scope)) throw new UsageError(`--scope expected read, issue or admin, got "${o.scope}"`);
  const scope = o.scope;
  const { key, record } = await withKeys(o.db, (keys) => keys.create(scope, o.name ?? ""));
  out(
    o.json
      ? JSON.stringify({ ...record, key }) + "\n"
      : `API key ${record.keyId} (${record.scope}): ${key}\nShown once: only its hash is stored.\n`,
  );
}

export function register(program: Command): void {
  const apikey = program.command("apikey").description("keys of the hub's operator API (/api/v1)");
  apikey
    .command("create")
    .description("create a key; it is printed once and stored as a SHA-256 hash")
    .requiredOption("--scope <scope>", "read < issue < admin: read resources, issue codes, read the audit log")
    .option("--name <name>", "who or what holds the key")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option("--json", "JSON on stdout")
    .action((o: DbOptions & { scope: string; name?: string }) => runApikeyCreate(o, (t) => process.stdout.write(t)));
  apikey
    .command("list")
    .description("list the keys (never their text)")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .option("--json", "JSON on stdout")
    .action(async (o: DbOptions) => {
      const list = await withKeys(o.db, (keys) => keys.list());
      process.stdout.write(o.json ? JSON.stringify(list) + "\n" : list.map((k) => describeKey(k) + "\n").join(""));
    });
  apikey
    .command("revoke")
    .description("revoke a key for good")
    .argument("<id>", "the key's id (apikey list)")
    .option(
      "--db <file|url>",
      "fleet database: a SQLite file or a postgres:// URL",
      process.env.SOLKEY_DB ?? DEFAULT_DB,
    )
    .action(async (id: string, o: DbOptions) => {
      const key = await withKeys(o.db, (keys) => keys.revoke(parseWhole(id, 1, 2 ** 31, "ID")));
      process.stdout.write(`API key ${key.keyId} revoked\n`);
    });
}
