/**
 * Mailbox change notifications across processes: whoever stores or changes an entry (an API
 * process, the SMTP ingress) publishes it with Postgres NOTIFY on one channel; every API process
 * LISTENs and hands it to the event streams open on it (server-sent events). Payloads carry ids
 * and folder names only. A LISTEN connection that drops (Postgres restarted, a network cut, an
 * administrator's pg_terminate_backend) is made again, after 1 s doubling to 30 s while it fails:
 * a process never goes deaf for good. Notifications sent while it was away are not replayed.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Db } from '@sealmail/db';

export const MAIL_CHANNEL = 'sealmail_mail';

export interface MailEvent {
  entryId: string;
  folder: string;
  /** `keys`: the user's key history changed in a way their devices should look at (a device asks to join). */
  kind: 'new' | 'changed' | 'deleted' | 'keys' | 'reminder';
  /** `reminder`: the occurrence's start (entryId: the calendar event, folder: its calendar). */
  at?: string;
}

/** Publishes events for users' mailboxes (NOTIFY; delivered after the caller's commit). */
export async function publishMailEvents(db: Db, events: readonly { userId: string; event: MailEvent }[], origin = ''): Promise<void> {
  for (const e of events) {
    await db.$executeRaw`SELECT pg_notify(${MAIL_CHANNEL}, ${JSON.stringify({ origin, userId: e.userId, ...e.event })})`;
  }
}

/** The in-process hub: streams subscribe per user; events come from this process and from LISTEN. */
export class MailEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** Identifies this process's own notifications, which it has delivered already. */
  readonly origin = randomUUID();
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  private readonly taps: ((userId: string) => void)[] = [];

  emit(userId: string, event: MailEvent): void {
    for (const tap of this.taps) tap(userId);
    this.emitter.emit(userId, event);
  }

  /**
   * Calls `fn` with the user of every event before its streams hear of it (the API's cache drops
   * that user's cached pages first, so a client refreshing on the event never gets the old list).
   */
  tap(fn: (userId: string) => void): void {
    this.taps.push(fn);
  }

  /** Tells this process's streams at once, and every other process through NOTIFY. */
  async publish(db: Db, userId: string, event: MailEvent): Promise<void> {
    this.emit(userId, event);
    await publishMailEvents(db, [{ userId, event }], this.origin);
  }

  subscribe(userId: string, listener: (e: MailEvent) => void): () => void {
    this.emitter.on(userId, listener);
    return () => this.emitter.off(userId, listener);
  }

  /** Listens for other processes' events on `connectionString` until `close()`. */
  async listen(connectionString: string, onError: (err: unknown) => void = () => undefined): Promise<void> {
    this.closed = false;
    await this.connect(connectionString, onError);
  }

  /** One LISTEN connection; when it ends for any reason but close(), another is made. */
  private async connect(connectionString: string, onError: (err: unknown) => void): Promise<void> {
    const client = new pg.Client({ connectionString });
    let ready = false;
    let lost = false;
    const onLost = (err?: unknown) => {
      // Before it is up, a failure reaches the caller through connect()'s rejection.
      if (!ready) return;
      if (err) onError(err);
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      void client.end().catch(() => undefined);
      this.reconnect(connectionString, onError, 1000);
    };
    client.on('notification', (n) => {
      if (n.channel !== MAIL_CHANNEL || !n.payload) return;
      try {
        const p = JSON.parse(n.payload) as MailEvent & { origin: string; userId: string };
        if (p.origin !== this.origin) this.emit(p.userId, { entryId: p.entryId, folder: p.folder, kind: p.kind, ...(p.at ? { at: p.at } : {}) });
      } catch (err) {
        onError(err);
      }
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${MAIL_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    ready = true;
    this.client = client;
  }

  private reconnect(connectionString: string, onError: (err: unknown) => void, delayMs: number): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.closed) return;
      this.connect(connectionString, onError).catch((err: unknown) => {
        onError(err);
        this.reconnect(connectionString, onError, Math.min(30_000, delayMs * 2));
      });
    }, delayMs);
    this.retry.unref();
  }

  /** Whether the LISTEN connection is up (tests; a health view). */
  get listening(): boolean {
    return this.client !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
