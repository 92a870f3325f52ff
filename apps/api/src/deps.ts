import type { Db } from '@sealmail/db';
import type { AuthSettings } from '@sealmail/server';
import type { BlobStore, MailEvents } from '@sealmail/mailstore';

/** What route handlers need; built once at start and passed down. */
export interface ApiDeps {
  db: Db;
  version: string;
  /** The clock (tests move it to check expiry). */
  now: () => Date;
  auth: AuthSettings;
  /** Where attachment ciphertext lives (Postgres by default). */
  blobs: BlobStore;
  /** Mailbox change notifications for open event streams. */
  events: MailEvents;
}
