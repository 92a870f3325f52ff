/**
 * Uploads the parts of a blob with several in flight (docs/performance.md "Sealing and
 * transfer"): the server takes parts in any order and keeps the last copy of each, so parts are
 * sent as soon as they are sealed, up to `parallel` at once, and a part that fails on the way
 * (network, 5xx) is sent again. What the server refuses (4xx: quota, size) is not retried.
 */
import { ApiClientError } from '../api';

export interface PartUploaderOptions {
  /** Parts in flight at once (default 8: a 25 MiB attachment's 7 parts all at once, at most 32 MiB held). */
  parallel?: number;
  /** Attempts per part before the upload fails (default 3). */
  attempts?: number;
  /** Wait before attempt n+1, in ms (default 200·n). */
  backoff?: (attempt: number) => number;
}

const retriable = (err: unknown) => !(err instanceof ApiClientError) || err.status === 0 || err.status >= 500;

export class PartUploader {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { err: unknown } | null = null;
  private next = 0;
  private readonly parallel: number;
  private readonly attempts: number;
  private readonly backoff: (attempt: number) => number;

  constructor(
    private readonly send: (index: number, bytes: Uint8Array) => Promise<unknown>,
    opts: PartUploaderOptions = {},
  ) {
    this.parallel = Math.max(1, opts.parallel ?? 8);
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.backoff = opts.backoff ?? ((n) => 200 * n);
  }

  /** Queues the next part (numbered in call order); waits only while `parallel` parts are in flight. */
  async add(bytes: Uint8Array): Promise<void> {
    this.check();
    while (this.inFlight.size >= this.parallel) {
      await Promise.race(this.inFlight);
      this.check();
    }
    const index = this.next++;
    const p: Promise<void> = this.sendWithRetry(index, bytes).then(
      () => void this.inFlight.delete(p),
      (err: unknown) => {
        this.inFlight.delete(p);
        this.failure ??= { err };
      },
    );
    this.inFlight.add(p);
    // Let the request start (socket, TLS, the server's lookups) before the caller seals the next
    // part: sealing is a chain of microtasks that would otherwise hold the event loop until the
    // window is full, and the parts would leave one wave at a time.
    await new Promise((r) => setTimeout(r, 0));
  }

  /** Waits for every part; throws the first failure. */
  async done(): Promise<void> {
    while (this.inFlight.size) await Promise.race(this.inFlight);
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure.err;
  }

  private async sendWithRetry(index: number, bytes: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(index, bytes);
        return;
      } catch (err) {
        if (attempt >= this.attempts || !retriable(err) || this.failure) throw err;
        await new Promise((r) => setTimeout(r, this.backoff(attempt)));
      }
    }
  }
}
