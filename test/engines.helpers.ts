// The hub and tool suites on both engines: a fleet on SQLite or on a throwaway PostgreSQL, the same devices, plan and accounts
// (hubFleet's), seen through one shape. One PostgreSQL server per test file, started by its first fleet.
import fs from "fs";
import path from "path";
import { hexToBytes } from "../firmware/hex";
import { Ledger } from "../fleet/ledger";
import { makeProfile } from "../fleet/profile";
import { SecretKey } from "../fleet/sealing";
import { MASTER_HEX, scratch } from "./fleet.helpers";
import type { ProvisionedDevice } from "../fleet/devices";
import type { PgStoreOptions } from "../fleet/pgstore";
import type { ProfileOptions } from "../fleet/profile";
import { openSql } from "../fleet/sql";
import type { SqliteStoreOptions } from "../fleet/sqlitestore";
import type { FleetStore, PlanSpec } from "../fleet/store";
import { DAILY, hubFleet } from "./hub.helpers";
import { migratedDatabase, pgFleet, startPostgres, type PgServer } from "./pg.helpers";

export const ENGINES = ["sqlite", "postgres"] as const;
export type Engine = (typeof ENGINES)[number];

export interface EngineFleet {
  readonly engine: Engine;
  /** What --db takes: the SQLite file or the postgres:// URL. */
  readonly db: string;
  /** The SQLite file the fleet was made in (on PostgreSQL: copied from). */
  readonly file: string;
  readonly devices: ProvisionedDevice[];
  readonly store: FleetStore;
  /** The environment a command needs for this fleet (a URL's secret key). */
  readonly env: Record<string, string>;
  /** Rows of a query written with `?` placeholders, on a connection of its own. */
  rows<T>(sql: string, args?: readonly unknown[]): Promise<T[]>;
}

/** Each engine's store hook, when a test needs one (the SMS outbox's). */
export interface EngineHooks {
  readonly sqlite?: SqliteStoreOptions;
  readonly postgres?: PgStoreOptions;
}

/** Call at a test file's top level: a fleet maker on either engine; the server is stopped after the file. */
export function engineFleets(): (
  engine: Engine,
  profile: ProfileOptions,
  count: number,
  plan?: PlanSpec,
  hooks?: EngineHooks,
) => Promise<EngineFleet> {
  let server: PgServer | undefined;
  afterAll(() => server?.stop());
  return async (engine, profile, count, plan = DAILY, hooks = {}) => {
    if (engine === "sqlite") {
      const made = await hubFleet(profile, count, plan, hooks.sqlite);
      return {
        engine,
        db: made.file,
        file: made.file,
        devices: made.devices,
        store: made.store,
        env: {},
        rows: rowsOf(made.file),
      };
    }
    server ??= startPostgres();
    const made = await pgFleet(server, profile, count, plan, hooks.postgres);
    const env = { SOLKEY_SECRET_KEY: fs.readFileSync(made.access.secretKeyFile!, "utf8").trim() };
    return {
      engine,
      db: made.url,
      file: made.file,
      devices: made.devices,
      store: made.store,
      env,
      rows: rowsOf(made.url),
    };
  };
}

/** A fresh fleet's ledger on either engine, and a look at its rows. */
export interface LedgerFleet {
  readonly engine: Engine;
  /** What --db takes: the SQLite file or the postgres:// URL. */
  readonly db: string;
  /** The environment a command (or another Ledger.open) needs for this fleet: a URL's secret key. */
  readonly env: Record<string, string>;
  readonly ledger: Ledger;
  /** The devices, as provisioning returned them (serials SK-00000001...). */
  readonly devices: ProvisionedDevice[];
  /** Rows of a query written with `?` placeholders, on a connection of its own. */
  rows<T>(sql: string, args?: readonly unknown[]): Promise<T[]>;
}

/** Where a fresh fleet goes: what --db takes, and the environment commands need for it. */
export interface EmptyFleet {
  readonly engine: Engine;
  readonly db: string;
  readonly env: Record<string, string>;
}

/**
 * Call at a test file's top level: makers of fresh fleets on SQLite or on a throwaway PostgreSQL (one server per
 * file, stopped after it; each fleet a database of its own, given a random secret key). `empty`: nothing in it yet
 * (a SQLite path `solkey provision` creates; a migrated database). `ledger`: `count` devices (keys from MASTER_HEX)
 * provisioned through the Ledger itself, which stays open until the file ends.
 */
export function ledgerFleets(): {
  empty(engine: Engine): Promise<EmptyFleet>;
  ledger(engine: Engine, profile: ProfileOptions, count?: number): Promise<LedgerFleet>;
} {
  let server: PgServer | undefined;
  const open: Ledger[] = [];
  afterAll(async () => {
    for (const ledger of open) await ledger.close();
    server?.stop();
  });
  const empty = async (engine: Engine): Promise<EmptyFleet> => {
    if (engine === "sqlite") return { engine, db: path.join(scratch("ledger"), "fleet.db"), env: {} };
    server ??= startPostgres();
    return { engine, db: await migratedDatabase(server), env: { SOLKEY_SECRET_KEY: SecretKey.random().hex() } };
  };
  return {
    empty,
    async ledger(engine, profile, count = 1) {
      const { db, env } = await empty(engine);
      const ledger = await Ledger.open(db, { create: true, env });
      open.push(ledger);
      const request = { profile: makeProfile(profile), count, master: hexToBytes(MASTER_HEX) };
      const { devices } = await ledger.provision(request);
      return { engine, db, env, ledger, devices, rows: rowsOf(db) };
    },
  };
}

/** Rows of a query (`?` placeholders) on the fleet `db` names, on a connection of its own each time. */
export function rowsOf(db: string): EngineFleet["rows"] {
  return async <T>(sql: string, args: readonly unknown[] = []) => {
    const q = await openSql(db, 1);
    try {
      return await q.rows<T>(sql, args);
    } finally {
      await q.close();
    }
  };
}
