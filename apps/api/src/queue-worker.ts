/**
 * One pg-boss queue with its worker, and optionally a sweeper on a timer: the life cycle the
 * held-mail, scheduled-send, reminder, housekeeping and outbound jobs share. Each of them keeps
 * its own logic (what a job does, what the sweep looks for, how a job is sent) and hands this
 * class the queue's name, policy and the functions to run.
 */
import PgBoss from 'pg-boss';
import type { Logger } from '@sealmail/server';

export interface QueueWorkerOptions<T extends object> {
  /** Postgres for the job queue (pg-boss keeps its tables in the `pgboss` schema). */
  connectionString: string;
  queue: string;
  /** Names the queue in log lines ("held mail" → "held mail queue", "held mail sweep"). */
  label: string;
  policy?: PgBoss.QueuePolicy;
  /** pg-boss's pool size (default 2). */
  max?: number;
  maintenanceIntervalSeconds?: number;
  pollingIntervalSeconds?: number;
  /** A cron expression pg-boss runs the queue by (once per tick across processes). */
  cron?: string;
  /** What one job does. */
  work: (data: T) => Promise<unknown>;
  /** Run every `sweepSeconds` (0 or absent: never by itself); failures are logged, never thrown. */
  sweep?: () => Promise<unknown>;
  sweepSeconds?: number;
  /** Sweep once as soon as the worker runs. */
  sweepAtStart?: boolean;
}

export class QueueWorker<T extends object> {
  private boss: PgBoss | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly opts: QueueWorkerOptions<T>,
  ) {}

  async start(): Promise<void> {
    const o = this.opts;
    const boss = new PgBoss({ connectionString: o.connectionString, max: o.max ?? 2, ...(o.maintenanceIntervalSeconds ? { maintenanceIntervalSeconds: o.maintenanceIntervalSeconds } : {}) });
    boss.on('error', (err) => this.logger.warn({ err }, `${o.label} queue`));
    await boss.start();
    await boss.createQueue(o.queue, { name: o.queue, ...(o.policy ? { policy: o.policy } : {}) });
    if (o.cron) await boss.schedule(o.queue, o.cron);
    await boss.work<T>(o.queue, { pollingIntervalSeconds: o.pollingIntervalSeconds ?? 1 }, async ([job]) => void (await o.work(job!.data)));
    this.boss = boss;
    if (o.sweep && o.sweepAtStart) await this.sweepLogged();
    const every = o.sweepSeconds ?? 0;
    if (o.sweep && every > 0) {
      this.sweeper = setInterval(() => void this.sweepLogged(), every * 1000);
      this.sweeper.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.boss?.stop({ graceful: true, timeout: 5000 });
    this.boss = null;
  }

  /** Whether the worker runs (jobs can be sent). */
  get started(): boolean {
    return this.boss !== null;
  }

  /** Sends a job; null when pg-boss kept an existing one instead (a singleton key or id). */
  async send(data: T, options: PgBoss.SendOptions): Promise<string | null> {
    if (!this.boss) throw new Error(`${this.opts.label} queue not started`);
    return this.boss.send(this.opts.queue, data, options);
  }

  /** Jobs waiting in the queue. */
  async size(): Promise<number> {
    if (!this.boss) throw new Error(`${this.opts.label} queue not started`);
    return this.boss.getQueueSize(this.opts.queue);
  }

  private async sweepLogged(): Promise<void> {
    await this.opts.sweep!().catch((err: unknown) => this.logger.warn({ err }, `${this.opts.label} sweep`));
  }
}
