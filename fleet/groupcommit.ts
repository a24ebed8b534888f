// Group commit on one SQLite connection: the writes asked in one turn of the event loop run in one IMMEDIATE
// transaction, each in its own savepoint, and every promise settles only after the COMMIT returned (WAL with
// synchronous=FULL: the WAL is fsynced first). One fsync carries a whole burst; nothing is answered before the disk
// has it. The hub's store and the SMS outbox write through this (fleet/queue.ts does the same for bare ledger
// issues).
//
// Contract: `run(work)` resolves with work's value once the transaction holding it committed, or rejects with work's
// own error (its savepoint rolled back, the others in the batch stand), or with the commit's error (nothing in the
// batch was stored). `work` is synchronous: better-sqlite3 runs on this thread, so no other JavaScript runs between
// a batch's BEGIN and its COMMIT, and a crash at any point leaves every batch committed whole or not at all.
import { fleetError, type Db } from "./database";

interface Pending {
  work(): unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Most writes per transaction: a long transaction holds the write lock (and the event loop) longer. */
export const MAX_BATCH = 1000;

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly one: (p: Pending) => unknown;

  constructor(
    private readonly db: Db,
    private readonly where: string,
    private readonly maxBatch = MAX_BATCH,
  ) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
      throw new RangeError(`"maxBatch" expected a whole number >= 1, got ${maxBatch}`);
    // Nested in the batch's transaction, better-sqlite3 makes this a savepoint.
    this.one = db.transaction((p: Pending) => p.work());
  }

  /** Runs `work` in the next batch; settles after that batch's commit. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this._schedule();
    });
  }

  /** Resolves once every write asked so far has settled (before closing the connection). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) await new Promise((r) => setImmediate(r));
  }

  private _schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this._flush());
  }

  private _flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    const results: ({ ok: true; value: unknown } | { ok: false; error: Error })[] = [];
    try {
      this.db
        .transaction(() => {
          for (const p of batch) {
            try {
              results.push({ ok: true, value: this.one(p) });
            } catch (e) {
              results.push({ ok: false, error: e as Error });
            }
          }
        })
        .immediate();
    } catch (e) {
      // The BEGIN or the COMMIT failed (disk full, locked by another process): nothing in the batch is stored.
      const error = fleetError(e, this.where);
      for (const p of batch) p.reject(error);
      results.length = 0;
    }
    results.forEach((r, i) => (r.ok ? batch[i].resolve(r.value) : batch[i].reject(r.error)));
    if (this.queue.length > 0) this._schedule();
  }
}
