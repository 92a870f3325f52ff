import type { Db } from '@sealmail/db';

/** What route handlers need; built once at start and passed down. */
export interface ApiDeps {
  db: Db;
  version: string;
}
