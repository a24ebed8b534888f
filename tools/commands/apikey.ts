// `solkey apikey`: the operator API's keys (create shows the key once; list; revoke), kept hashed in the fleet.
import type { Command } from "commander";
import { ApiKeys, isScope, type ApiKey } from "../../fleet/apikeys";
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

function withKeys<T>(db: string, work: (keys: ApiKeys) => T): T {
  const keys = ApiKeys.open(db);
  try {
    return work(keys);
  } finally {
    keys.close();
  }
}

export function runApikeyCreate(o: DbOptions & { scope: string; name?: string }, out: (t: string) => void): void {
  if (!isScope(o.scope)) throw new UsageError(`--scope expected read, issue or admin, got "${o.scope}"`);
  const scope = o.scope;
  const { key, record } = withKeys(o.db, (keys) => keys.create(scope, o.name ?? ""));
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
    .option("--db <file>", "fleet database", process.env.SOLKEY_DB ?? DEFAULT_DB)
    .option("--json", "JSON on stdout")
    .action((o: DbOptions & { scope: string; name?: string }) => runApikeyCreate(o, (t) => process.stdout.write(t)));
  apikey
    .command("list")
    .description("list the keys (never their text)")
    .option("--db <file>", "fleet database", process.env.SOLKEY_DB ?? DEFAULT_DB)
    .option("--json", "JSON on stdout")
    .action((o: DbOptions) => {
      const list = withKeys(o.db, (keys) => keys.list());
      process.stdout.write(o.json ? JSON.stringify(list) + "\n" : list.map((k) => describeKey(k) + "\n").join(""));
    });
  apikey
    .command("revoke")
    .description("revoke a key for good")
    .argument("<id>", "the key's id (apikey list)")
    .option("--db <file>", "fleet database", process.env.SOLKEY_DB ?? DEFAULT_DB)
    .action((id: string, o: DbOptions) => {
      const key = withKeys(o.db, (keys) => keys.revoke(parseWhole(id, 1, 2 ** 31, "ID")));
      process.stdout.write(`API key ${key.keyId} revoked\n`);
    });
}
