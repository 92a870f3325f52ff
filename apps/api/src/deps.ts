import type { Db } from '@sealmail/db';
import type { AppOrigins, AuthSettings, DnsResolver } from '@sealmail/server';
import type { BlobStore, MailEvents, ServerMailKey } from '@sealmail/mailstore';
import type { Outbound } from './mail/outbound';
import type { HeldMail } from './mail/held';
import type { ScheduledSends } from './mail/scheduled';
import type { Importer } from './imports/importer';
import type { Reminders } from './calendar/reminders';
import type { SignInThrottle } from './auth/throttle';
import type { SecretBox } from './auth/secret-box';
import type { DkimKeys } from './mail/dkim-keys';
import type { MailHosts } from './mail/domain-records';
import type { ApiCache } from './cache/store';
import type { CachedSession } from './auth/sessions';

/** What route handlers need; built once at start and passed down. */
export interface ApiDeps {
  db: Db;
  version: string;
  /** The clock (tests move it to check expiry). */
  now: () => Date;
  auth: AuthSettings;
  /** The web client's and admin console's origins (session cookies, CSRF). */
  origins: AppOrigins;
  /** Where attachment ciphertext lives (Postgres by default). */
  blobs: BlobStore;
  /** Mailbox change notifications for open event streams. */
  events: MailEvents;
  /** The server's mail key (clients box standard mail's message key to it). */
  serverKey: ServerMailKey;
  /** The outbound relay, when this process runs one. */
  outbound: Outbound | null;
  /** The job that files mail held for users without keys, when this process runs it. */
  heldMail: HeldMail | null;
  /** Scheduled send's release job, when this process runs it. */
  scheduled: ScheduledSends | null;
  /** The mail import queue (docs/admin.md "Import"), when this process runs one. */
  importer: Importer | null;
  /** Calendar reminders as pg-boss jobs (docs/calendar.md "Reminders"), when this process runs them. */
  reminders: Reminders | null;
  /** Failed sign-ins per client address and (client address, user), in Postgres. */
  throttle: SignInThrottle;
  /** Seals TOTP secrets at rest with a key derived from the server's mail key. */
  secrets: SecretBox;
  /** Every DNS lookup (packages/server/src/dns.ts; tests answer from a table). */
  resolver: DnsResolver;
  /** Per-domain DKIM keys (sealed in the database) and their rotation. */
  dkim: DkimKeys;
  /** The MX and public host names the domain records point at. */
  mailHosts: MailHosts;
  /**
   * This process's cache of session lookups, list rows and counts, kept right by Postgres NOTIFY
   * (cache/store.ts); inactive (every read goes to Postgres) unless the process LISTENs.
   */
  cache: ApiCache<CachedSession>;
}
