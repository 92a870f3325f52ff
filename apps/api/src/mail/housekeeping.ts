/**
 * Housekeeping as a pg-boss job: every 15 minutes (pg-boss's schedule runs it once per tick
 * across all API processes) blobs that no message took within the grace period are deleted and
 * their uploader refunded (`collectOrphanBlobs` in @sealmail/mailstore; docs/operations.md); and
 * bytes the blob store still holds for blobs whose row is gone (an S3 bucket keeps objects after a
 * cascade deleted their row, or when a process died between the database and the bucket) are
 * deleted once older than the same grace period (`collectUnreferencedBlobs`), a bounded walk of
 * the store per round that carries on where the last round stopped. Rate-limit windows older than
 * a day (the longest window) are deleted too.
 */
import type { Db } from '@sealmail/db';
import { collectOrphanBlobs, collectUnreferencedBlobs, type BlobStore } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';
import { QueueWorker } from '../queue-worker';

const QUEUE = 'sealmail-housekeeping';

export interface HousekeepingOptions {
  /** Postgres for the job queue (pg-boss's own schema). */
  connectionString: string;
  /** How long a blob may wait for its message before it counts as orphaned (default one day). */
  orphanGraceSeconds?: number;
}

/** The longest window a rate limit uses (the forward-code limit: a day). */
const RATE_LIMIT_MAX_WINDOW_MS = 86_400_000;

/** Blob ids of the store looked at per round by the sweep for bytes without a row. */
const SWEEP_PER_ROUND = 10_000;

export class Housekeeping {
  private readonly queue: QueueWorker<object>;
  /** Where the next sweep of the store starts (null: from the beginning). */
  private sweepAfter: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
    private readonly now: () => Date,
    private readonly opts: HousekeepingOptions,
  ) {
    this.queue = new QueueWorker(logger, { connectionString: opts.connectionString, queue: QUEUE, label: 'housekeeping', policy: 'stately', cron: '*/15 * * * *', pollingIntervalSeconds: 5, work: () => this.run() });
  }

  start(): Promise<void> {
    return this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** One round (what the job does): answers how many orphaned blobs went, and their bytes. */
  async run(): Promise<{ blobs: number; bytes: number }> {
    const olderThan = new Date(this.now().getTime() - (this.opts.orphanGraceSeconds ?? 86_400) * 1000);
    let total = { blobs: 0, bytes: 0 };
    for (;;) {
      const round = await collectOrphanBlobs(this.db, this.blobs, { olderThan, limit: 500 });
      total = { blobs: total.blobs + round.blobs, bytes: total.bytes + round.bytes };
      if (round.blobs < 500) break;
    }
    if (total.blobs) this.logger.info(total, 'housekeeping: orphaned blobs deleted');
    await this.sweepStore(olderThan);
    await this.forgetRateLimits();
    return total;
  }

  /**
   * Rate-limit windows (auth/rate-limit.ts) more than a day old: every window in use is a day at
   * most, so such a row limits nothing any more (a hit would restart it). Without this the table
   * kept a row per expiring-link visit, and each link's budget row, for ever.
   */
  async forgetRateLimits(): Promise<number> {
    const { count } = await this.db.rateLimit.deleteMany({ where: { windowStart: { lt: new Date(this.now().getTime() - RATE_LIMIT_MAX_WINDOW_MS) } } });
    if (count) this.logger.info({ rows: count }, 'housekeeping: passed rate-limit windows deleted');
    return count;
  }

  /** Deletes what the store holds for blobs that have no row, last written before `olderThan`; answers how many blobs' bytes went. */
  async sweepStore(olderThan: Date): Promise<number> {
    let gone = 0;
    for (let seen = 0; seen < SWEEP_PER_ROUND; seen += 1000) {
      const round = await collectUnreferencedBlobs(this.db, this.blobs, { olderThan, after: this.sweepAfter, limit: 1000 });
      gone += round.blobs;
      this.sweepAfter = round.next;
      if (!round.next) break;
    }
    if (gone) this.logger.info({ blobs: gone }, 'housekeeping: bytes without a blob row deleted from the blob store');
    return gone;
  }
}
