import type { Db } from '@sealmail/db';
import type { AuthSettings } from '@sealmail/server';

/** What route handlers need; built once at start and passed down. */
export interface ApiDeps {
  db: Db;
  version: string;
  /** The clock (tests move it to check expiry). */
  now: () => Date;
  auth: AuthSettings;
}
