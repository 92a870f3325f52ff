/**
 * Mailbox change notifications for server-sent events: the API process that stores or changes an
 * entry tells the holder's open event streams. One process serves a deployment today; several
 * would relay these through Postgres LISTEN/NOTIFY (docs/operations.md).
 */
import { EventEmitter } from 'node:events';

export interface MailEvent {
  entryId: string;
  folder: string;
  kind: 'new' | 'changed' | 'deleted';
}

export class MailEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  emit(userId: string, event: MailEvent): void {
    this.emitter.emit(userId, event);
  }

  subscribe(userId: string, listener: (e: MailEvent) => void): () => void {
    this.emitter.on(userId, listener);
    return () => this.emitter.off(userId, listener);
  }
}
