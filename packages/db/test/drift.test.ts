/**
 * No drift: the committed migrations produce exactly the schema in prisma/schema.prisma, as
 * Prisma's own schema engine (WASM build) judges it. And drift, when there is some, is caught.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../src/migrate';
import { dropMigrationsTable, openSchemaEngine, target, type SchemaEngineSession } from '../src/schema-engine';
import { createTestDatabase, type TestDatabase } from '../src/testing';

const schema = await readFile(fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url)), 'utf8');
let db: TestDatabase;
let engine: SchemaEngineSession;

beforeAll(async () => {
  db = await createTestDatabase({ empty: true });
  await applyMigrations(db.connectionString);
  await dropMigrationsTable(db.connectionString);
  engine = await openSchemaEngine(db.connectionString, schema);
}, 60_000);
afterAll(async () => {
  await engine?.close();
  await db?.drop();
});

describe('migrations vs schema.prisma', () => {
  it('have no drift', async () => {
    expect(await engine.diffSql(target.database(schema), target.schema(schema))).toBe('');
  });

  it('detect a schema change that has no migration', async () => {
    const changed = schema.replace('  name        String\n', '  name        String\n  plan        String?\n');
    expect(changed).not.toBe(schema);
    const sql = await engine.diffSql(target.database(schema), target.schema(changed));
    expect(sql).toMatch(/ALTER TABLE "accounts" ADD COLUMN\s+"plan" TEXT/);
  });

  it('detect a database that differs from the migrations', async () => {
    const c = new pg.Client({ connectionString: db.connectionString });
    await c.connect();
    await c.query('DROP INDEX "users_account_id_idx"');
    await c.end();
    const sql = await engine.diffSql(target.database(schema), target.schema(schema));
    expect(sql).toContain('CREATE INDEX "users_account_id_idx"');
  });
});
