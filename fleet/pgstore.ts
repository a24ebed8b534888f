// The fleet store on PostgreSQL: the shared procedures (fleet/enginestore.ts), with SqliteStore's behaviour, for
// many hub and tool processes on one fleet. Every write is one READ COMMITTED transaction. Issuing for a device is
// serialised by locking its account and device rows (the Steps' `lock`: FOR UPDATE, account before device in one
// statement everywhere), so different devices issue in parallel; the unique constraints stay the last line: a
// payment another process inserts meanwhile (provider, trans_id) makes this one wait for its commit and answer as
// the replay, never a second code.
import { EngineStore, type StoreEngine, type StoreOptions } from "./enginestore";
import { checkPgFleet, inPgTransaction, pgPool, redacted, withClient } from "./pgdb";
import { runPgSteps } from "./sql";

export interface PgStoreOptions extends StoreOptions {
  /** Connections in this process's pool. Default 10. */
  readonly poolSize?: number;
}

export class PgStore extends EngineStore {
  /** Opens the fleet at `url` (migrated by `solkey db migrate`) with its secret key (given: file or environment). */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    return new PgStore(await pgEngine(url, options), options);
  }
}

/** The engine on the fleet at `url`: a pool of `poolSize`, its schema and key checked first. */
export async function pgEngine(url: string, options: PgStoreOptions): Promise<StoreEngine> {
  const pool = pgPool(url, options.poolSize);
  const where = redacted(url);
  try {
    const key = await checkPgFleet(pool, url, options);
    return {
      where,
      write: (steps) => inPgTransaction(pool, where, (c) => runPgSteps(c, steps())),
      read: (steps) => withClient(pool, where, (c) => runPgSteps(c, steps())),
      fleet: { key, where },
      close: () => pool.end(),
    };
  } catch (e) {
    await pool.end();
    throw e;
  }
}
