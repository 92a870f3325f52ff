/**
 * The queue job that files mail held for users without keys (docs/mail.md §7.4): when a user's
 * chain gets its first per-user key (their first device is set up), a pg-boss job re-seals each
 * held copy to that key (`resealHeldMail` in @sealmail/mailstore). Policy `stately` with the user
 * id as singleton key: at most one waiting and one running job per user. The job itself is
 * idempotent (claiming a held row is deleting it), so a retry, a second job or another API
 * process running the same job files each mail once. A sweeper picks up users whose job was lost
 * (a crash between the link and the job).
 */
import type { Db } from '@sealmail/db';
import { purgeOrphanHeldCopies, resealHeldMail, usersWithHeldMail, type ServerMailKey } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';
import { QueueWorker } from '../queue-worker';

const QUEUE = 'sealmail-held-mail';

export interface HeldMailOptions {
  /** Postgres for the job queue (pg-boss's own schema). */
  connectionString: string;
  /** How often to look for users whose held mail can be filed (seconds; 0: never by itself). */
  sweepSeconds?: number;
}

export class HeldMail {
  private readonly queue: QueueWorker<{ userId: string }>;

  constructor(
    private readonly db: Db,
    private readonly serverKey: ServerMailKey,
    private readonly logger: Logger,
    opts: HeldMailOptions,
  ) {
    this.queue = new QueueWorker(logger, {
      connectionString: opts.connectionString,
      queue: QUEUE,
      label: 'held mail',
      policy: 'stately',
      work: (job) => this.run(job.userId),
      sweep: () => this.sweep(),
      sweepSeconds: opts.sweepSeconds ?? 60,
    });
  }

  start(): Promise<void> {
    return this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** Files the user's held mail now (what the job does); answers how many this run filed. */
  run(userId: string): Promise<number> {
    return resealHeldMail({ db: this.db, serverKey: this.serverKey, logger: this.logger }, userId);
  }

  /** Queues the job for a user whose chain just changed, if they have mail waiting. */
  async enqueue(userId: string): Promise<void> {
    if (!this.queue.started || !(await this.db.heldMail.findFirst({ where: { userId }, select: { messageId: true } }))) return;
    await this.queue.send({ userId }, { singletonKey: userId, retryLimit: 5, retryDelay: 30 });
  }

  /** Queues a job for every user with held mail (those without keys yet find nothing to do), and deletes the held copies of deleted users. */
  async sweep(): Promise<void> {
    for (const userId of await usersWithHeldMail(this.db)) await this.enqueue(userId);
    const purged = await purgeOrphanHeldCopies(this.db);
    if (purged) this.logger.info({ purged }, 'held mail of deleted users deleted');
  }
}
