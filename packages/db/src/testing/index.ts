/**
 * Test databases: `createTestDatabase()` in any test file of a project whose vitest config uses
 * `globalSetup: [testingGlobalSetup]` (see packages/db/README.md). Each call clones the migrated
 * template into a fresh database, so tests are isolated and run in parallel.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '../client';

/** Path of the global setup module, for vitest configs. */
export const testingGlobalSetup = fileURLToPath(new URL('./global-setup.ts', import.meta.url));

export interface TestDatabase {
  name: string;
  connectionString: string;
  prisma: Db;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const { adminUrl } = inject('sealmailPostgres');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database for this test file: migrated (cloned from the template), or empty
 * with `{ empty: true }` (for tests of the migrations themselves).
 */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const { templateDb, urlPrefix } = inject('sealmailPostgres');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${opts.empty ? 'template0' : templateDb}"`));
  const connectionString = urlPrefix + name;
  const prisma = createDb(connectionString, { maxConnections: 4 });
  return {
    name,
    connectionString,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
