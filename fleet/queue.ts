// Group commit for services that issue codes as payments arrive: requests made in the same turn of the event loop
// share one durable transaction (one fsync), and each promise settles only after that commit. Per code it is as
// safe as `Ledger.issue` (nothing is handed out before it is on disk); under load it runs at batch speed.
import type { IssuedCode, IssueRequest, Ledger } from "./ledger";

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
    private readonly ledger: Ledger,
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
        results = this.ledger.issueEach(batch.map((w) => w.request));
      } catch (e) {
        // The transaction itself failed (locked, disk full): nothing in it was committed.
        for (const w of batch) w.reject(e as Error);
        continue;
      }
      results.forEach((result, i) => (result instanceof Error ? batch[i].reject(result) : batch[i].resolve(result)));
    }
  }
}
