/**
 * The migrations runner on a real Postgres: order, Prisma's bookkeeping, idempotence, refusal to
 * run over a changed history, atomic failure, and two runners at once.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigrations, defaultMigrationsDir, MigrationError, readMigrations } from '../src/migrate';
import { createTestDatabase, type TestDatabase } from '../src/testing';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function emptyDb(): Promise<TestDatabase> {
  const db = await createTestDatabase({ empty: true });
  cleanup.push(() => db.drop());
  return db;
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sealmail-migrations-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

const A = 'CREATE TABLE a (id int PRIMARY KEY);';
const B = 'ALTER TABLE a ADD COLUMN name text;';

describe('applyMigrations', () => {
  it('applies in name order and records each as Prisma does', async () => {
    const db = await emptyDb();
    const dir = await migrationsDir({ '20260102000000_b': B, '20260101000000_a': A });
    expect(await applyMigrations(db.connectionString, { migrationsDir: dir })).toEqual(['20260101000000_a', '20260102000000_b']);
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number; rolled_back_at: Date | null; id: string }>(
      db.connectionString,
      'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(['20260101000000_a', '20260102000000_b']);
    expect(rows[0]!.checksum).toBe(createHash('sha256').update(A).digest('hex'));
    for (const r of rows) {
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.applied_steps_count).toBe(1);
      expect(r.rolled_back_at).toBeNull();
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const cols = await query<{ column_name: string }>(db.connectionString, "SELECT column_name FROM information_schema.columns WHERE table_name = 'a' ORDER BY ordinal_position");
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'name']);
  });

  it('applies nothing the second time, and only the new one after a migration is added', async () => {
    const db = await emptyDb();
    const dir = await migrationsDir({ '20260101000000_a': A });
    await applyMigrations(db.connectionString, { migrationsDir: dir });
    expect(await applyMigrations(db.connectionString, { migrationsDir: dir })).toEqual([]);
    await mkdir(join(dir, '20260102000000_b'));
    await writeFile(join(dir, '20260102000000_b', 'migration.sql'), B);
    expect(await applyMigrations(db.connectionString, { migrationsDir: dir })).toEqual(['20260102000000_b']);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const db = await emptyDb();
    const dir = await migrationsDir({ '20260101000000_a': A });
    await applyMigrations(db.connectionString, { migrationsDir: dir });
    await writeFile(join(dir, '20260101000000_a', 'migration.sql'), A + '\n-- edited');
    await expect(applyMigrations(db.connectionString, { migrationsDir: dir })).rejects.toThrow(/was changed after it was applied/);
  });

  it('refuses a database that has a migration the directory lacks', async () => {
    const db = await emptyDb();
    await applyMigrations(db.connectionString, { migrationsDir: await migrationsDir({ '20260101000000_a': A }) });
    await expect(applyMigrations(db.connectionString, { migrationsDir: await migrationsDir({}) })).rejects.toThrow(MigrationError);
  });

  it('rolls a failing migration back whole and records nothing for it', async () => {
    const db = await emptyDb();
    const dir = await migrationsDir({ '20260101000000_a': A, '20260102000000_bad': 'CREATE TABLE b (id int); SELECT no_such_function();' });
    await expect(applyMigrations(db.connectionString, { migrationsDir: dir })).rejects.toThrow(/20260102000000_bad failed/);
    const tables = await query<{ table_name: string }>(db.connectionString, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
    expect(tables.map((t) => t.table_name)).toEqual(['_prisma_migrations', 'a']);
    const rows = await query<{ migration_name: string }>(db.connectionString, 'SELECT migration_name FROM _prisma_migrations');
    expect(rows.map((r) => r.migration_name)).toEqual(['20260101000000_a']);
  });

  it('lets two runners at once apply each migration exactly once', async () => {
    const db = await emptyDb();
    const dir = await migrationsDir({ '20260101000000_a': A, '20260102000000_b': B });
    const [x, y] = await Promise.all([
      applyMigrations(db.connectionString, { migrationsDir: dir }),
      applyMigrations(db.connectionString, { migrationsDir: dir }),
    ]);
    expect([...x, ...y].sort()).toEqual(['20260101000000_a', '20260102000000_b']);
    const rows = await query<{ n: string }>(db.connectionString, 'SELECT count(*) AS n FROM _prisma_migrations');
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('reads the repository migrations in Prisma layout', async () => {
    const ms = await readMigrations(defaultMigrationsDir);
    expect(ms.length).toBeGreaterThan(0);
    for (const m of ms) {
      expect(m.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
      expect(m.checksum).toBe(createHash('sha256').update(await readFile(join(defaultMigrationsDir, m.name, 'migration.sql'))).digest('hex'));
    }
    expect(await readFile(join(defaultMigrationsDir, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');
  });
});
