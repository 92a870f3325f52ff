/**
 * Housekeeping as a pg-boss job: every 15 minutes (pg-boss's schedule runs it once per tick
 * across all API processes) blobs that no message took within the grace period are deleted and
 * their uploader refunded (`collectOrphanBlobs` in @sealmail/mailstore; docs/operations.md).
 */
import PgBoss from 'pg-boss';
import type { Db } from '@sealmail/db';
import { collectOrphanBlobs, type BlobStore } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';

const QUEUE = 'sealmail-housekeeping';

export interface HousekeepingOptions {
  /** Postgres for the job queue (pg-boss's own schema). */
  connectionString: string;
  /** How long a blob may wait for its message before it counts as orphaned (default one day). */
  orphanGraceSeconds?: number;
}

export class Housekeeping {
  private boss: PgBoss | null = null;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
    private readonly now: () => Date,
    private readonly opts: HousekeepingOptions,
  ) {}

  async start(): Promise<void> {
    const boss = new PgBoss({ connectionString: this.opts.connectionString, max: 2 });
    boss.on('error', (err) => this.logger.warn({ err }, 'housekeeping queue'));
    await boss.start();
    await boss.createQueue(QUEUE, { name: QUEUE, policy: 'stately' });
    await boss.schedule(QUEUE, '*/15 * * * *');
    await boss.work(QUEUE, { pollingIntervalSeconds: 5 }, async () => void (await this.run()));
    this.boss = boss;
  }

  async stop(): Promise<void> {
    await this.boss?.stop({ graceful: true, timeout: 5000 });
    this.boss = null;
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
    return total;
  }
}
