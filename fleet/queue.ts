// Group commit for services that issue codes as payments arrive on an SQLite fleet: requests made in the same turn
// of the event loop share one durable transaction (one fsync), and each promise settles only after that commit. Per
// code it is as safe as `Ledger.issue` (nothing is handed out before it is on disk); under load it runs at batch
// speed.
import { inTransaction, type Db } from "./database";
import { sqliteFleet } from "./devices";
import { SolkeyError, UsageError } from "./errors";
import { issueSteps, type IssuedCode, type IssueRequest } from "./ledger";
import { runSteps } from "./sql";

interface Waiting {
  readonly request: IssueRequest;
  resolve(code: IssuedCode): void;
  reject(error: Error): void;
}

export class IssueQueue {
  private waiting: Waiting[] = [];
  private scheduled = false;

  /** `maxBatch`: most requests per transaction (a long transaction holds the write lock longer). */
  constructor(
    private readonly db: Db,
    private readonly file: string,
    private readonly maxBatch = 1000,
  ) {}

  /** The next code for `request`, once it is committed; rejects with the request's own error only. */
  issue(request: IssueRequest): Promise<IssuedCode> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this._flush());
      }
    });
  }

  private _flush(): void {
    this.scheduled = false;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      let results: (IssuedCode | Error)[];
      try {
        results = this._issueEach(batch.map((w) => w.request));
      } catch (e) {
        // The transaction itself failed (locked, disk full): nothing in it was committed.
        for (const w of batch) w.reject(e as Error);
        continue;
      }
      results.forEach((result, i) => (result instanceof Error ? batch[i].reject(result) : batch[i].resolve(result)));
    }
  }

  /** Each request in its own savepoint inside one transaction: a refused request leaves the others issued. */
  private _issueEach(requests: readonly IssueRequest[]): (IssuedCode | Error)[] {
    const fleet = sqliteFleet(this.db, this.file);
    const one = this.db.transaction(
      (request: IssueRequest) => runSteps(this.db, issueSteps(fleet, request, new Date().toISOString())).issued,
    );
    return inTransaction(this.db, this.file, () =>
      requests.map((request) => {
        try {
          return one(request);
        } catch (e) {
          if (e instanceof UsageError || e instanceof SolkeyError) return e;
          throw e;
        }
      }),
    );
  }
}
