/**
 * Vitest global setup for any project that needs Postgres: starts one throw-away embedded
 * Postgres for the project's run (in a temp dir, on a free port, durability off for speed),
 * applies the migrations to a template database once, and provides its address to the tests.
 * Each test file then clones its own database from the template (createTestDatabase).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '@sealmail/server';
import { startEmbeddedPostgres } from '../embedded';
import { applyMigrations } from '../migrate';
import { TEMPLATE_DB } from './shared';

declare module 'vitest' {
  export interface ProvidedContext {
    sealmailPostgres: { adminUrl: string; templateDb: string; urlPrefix: string };
  }
}

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'sealmail-test-pg-'));
  const pg = await startEmbeddedPostgres({
    dataDir: join(dir, 'pg'),
    port: await freePort(),
    database: TEMPLATE_DB,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
  });
  await applyMigrations(pg.connectionString);
  const adminUrl = pg.urlFor('postgres');
  project.provide('sealmailPostgres', { adminUrl, templateDb: TEMPLATE_DB, urlPrefix: adminUrl.slice(0, adminUrl.lastIndexOf('/') + 1) });
  return async () => {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
