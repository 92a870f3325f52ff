/**
 * Mailbox change notifications across processes: whoever stores or changes an entry (an API
 * process, the SMTP ingress) publishes it with Postgres NOTIFY on one channel; every API process
 * LISTENs and hands it to the event streams open on it (server-sent events). Payloads carry ids
 * and folder names only. The LISTEN connection is made again when it drops (listen.ts): a
 * process never goes deaf for good. Notifications sent while it was away are not replayed.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { ReconnectingListener } from './listen';
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
  /** Other processes' events, by NOTIFY; this process's own were delivered already. */
  private readonly listener = new ReconnectingListener(MAIL_CHANNEL, {
    payload: (payload) => {
      const p = JSON.parse(payload) as MailEvent & { origin: string; userId: string };
      if (p.origin !== this.origin) this.emit(p.userId, { entryId: p.entryId, folder: p.folder, kind: p.kind, ...(p.at ? { at: p.at } : {}) });
    },
  });

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
  listen(connectionString: string, onError: (err: unknown) => void = () => undefined): Promise<void> {
    return this.listener.listen(connectionString, onError);
  }

  /** Whether the LISTEN connection is up (tests; a health view). */
  get listening(): boolean {
    return this.listener.listening;
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}
