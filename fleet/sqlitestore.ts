// The fleet store on SQLite (better-sqlite3): the shared procedures (fleet/enginestore.ts) on the fleet database
// file. Writes are group-committed: everything asked in one turn of the event loop runs in one IMMEDIATE
// transaction, each request in its own savepoint, and every promise settles only after the commit (WAL,
// synchronous=FULL: on disk). One fsync carries a whole burst of payments, so the hub keeps up with bursts without
// ever answering before the disk has it. One connection writes at a time: the row locks PostgreSQL takes are moot.
import { openFleet, type Db } from "./database";
import { sqliteFleet } from "./devices";
import { EngineStore, type StoreEngine, type StoreOptions } from "./enginestore";
import { GroupCommit } from "./groupcommit";
import type { SecretKeySource } from "./sealing";
import { runSteps } from "./sql";

export type SqliteStoreOptions = StoreOptions;

export class SqliteStore extends EngineStore {
  /** Opens the fleet database at `file` (it must exist: `solkey provision` makes it). */
  static open(file: string, options: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(sqliteEngine(file, options), options);
  }
}

/** The engine on the fleet database at `file`: its own connection, writes group-committed. */
export function sqliteEngine(file: string, access: SecretKeySource): StoreEngine {
  const db: Db = openFleet(file, access);
  const group = new GroupCommit(db, file);
  return {
    where: file,
    write: (steps) => group.run(() => runSteps(db, steps())),
    read: async (steps) => runSteps(db, steps()),
    fleet: sqliteFleet(db, file),
    async close() {
      await group.drain();
      db.close();
    },
  };
}
