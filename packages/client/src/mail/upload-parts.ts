/**
 * Uploads the parts of a blob with several in flight (docs/performance.md "Sealing and
 * transfer"): the server takes parts in any order and keeps the last copy of each, so parts are
 * sent as soon as they are sealed, up to `parallel` at once, and a part that fails on the way
 * (network, 5xx) is sent again. What the server refuses (4xx: quota, size) is not retried.
 */
import { ApiClientError } from '../api';

export interface PartUploaderOptions {
  /** Parts being sent at once (default 4: 16 MiB on the way). */
  parallel?: number;
  /**
   * Parts held at once, being sent or sealed and waiting for a slot (default 8, at least
   * `parallel`; at most 32 MiB of 4 MiB parts); `add` waits beyond it. Sealing runs ahead of the
   * sending, and the server stores the first parts while the later ones are still arriving
   * (with every part on the wire at once, all bodies ended together and all stores came last).
   */
  held?: number;
  /** Attempts per part before the upload fails (default 3). */
  attempts?: number;
  /** Wait before attempt n+1, in ms (default 200·n). */
  backoff?: (attempt: number) => number;
}

const retriable = (err: unknown) => !(err instanceof ApiClientError) || err.status === 0 || err.status >= 500;

export class PartUploader {
  /** Every part held: waiting for a slot or being sent. */
  private readonly held = new Set<Promise<void>>();
  private sending = 0;
  private readonly waiting: (() => void)[] = [];
  private failure: { err: unknown } | null = null;
  private next = 0;
  private readonly parallel: number;
  private readonly maxHeld: number;
  private readonly attempts: number;
  private readonly backoff: (attempt: number) => number;

  constructor(
    private readonly send: (index: number, bytes: Uint8Array) => Promise<unknown>,
    opts: PartUploaderOptions = {},
  ) {
    this.parallel = Math.max(1, opts.parallel ?? 4);
    this.maxHeld = Math.max(this.parallel, opts.held ?? 8);
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.backoff = opts.backoff ?? ((n) => 200 * n);
  }

  /** Queues the next part (numbered in call order); waits only while `held` parts are held. */
  async add(bytes: Uint8Array): Promise<void> {
    this.check();
    while (this.held.size >= this.maxHeld) {
      await Promise.race(this.held);
      this.check();
    }
    const index = this.next++;
    const p: Promise<void> = this.sendInSlot(index, bytes).then(
      () => void this.held.delete(p),
      (err: unknown) => {
        this.held.delete(p);
        this.failure ??= { err };
      },
    );
    this.held.add(p);
    // Let the request start (socket, TLS, the server's lookups) before the caller seals the next
    // part: sealing is a chain of microtasks that would otherwise hold the event loop until the
    // window is full, and the parts would leave one wave at a time.
    await new Promise((r) => setTimeout(r, 0));
  }

  private async sendInSlot(index: number, bytes: Uint8Array): Promise<void> {
    while (this.sending >= this.parallel) await new Promise<void>((r) => this.waiting.push(r));
    this.sending++;
    try {
      if (this.failure) throw this.failure.err; // another part failed while this one waited
      await this.sendWithRetry(index, bytes);
    } catch (err) {
      this.failure ??= { err }; // before the slot is handed on, so the next waiting part sees it
      throw err;
    } finally {
      this.sending--;
      this.waiting.shift()?.();
    }
  }

  /** Waits for every part; throws the first failure. */
  async done(): Promise<void> {
    while (this.held.size) await Promise.race(this.held);
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
