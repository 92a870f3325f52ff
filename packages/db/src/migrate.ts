/**
 * The migrations runner. Applies the committed SQL migrations in prisma/migrations in order and
 * records them in `_prisma_migrations` exactly as Prisma Migrate does (same table, same
 * checksum: SHA-256 hex of migration.sql), so `prisma migrate deploy/status` agree with it.
 *
 * - Each migration runs in its own transaction, with its row written in the same transaction.
 * - A Postgres advisory lock (Prisma's own key) keeps two processes from migrating at once.
 * - A migration that was applied and then edited stops the runner: history must not change.
 * - A migration that failed half-way (finished_at null, not rolled back) stops it too.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chainPendingAudit } from './audit-chain';

/** prisma/migrations of this repository. */
export const defaultMigrationsDir = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));

/** Prisma Migrate's advisory lock key (so Prisma's CLI and this runner exclude each other). */
const PRISMA_ADVISORY_LOCK = 72707369;

/** The table as Prisma creates it. */
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Reads `<dir>/<name>/migration.sql` for every migration directory, sorted by name. */
export async function readMigrations(dir = defaultMigrationsDir): Promise<Migration[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql'))).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies pending migrations; returns the names applied (empty when up to date).
 * @throws MigrationError when history was changed or a migration failed earlier or now.
 */
export async function applyMigrations(connectionString: string, opts: { migrationsDir?: string } = {}): Promise<string[]> {
  const migrations = await readMigrations(opts.migrationsDir);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    await client.query(CREATE_TABLE);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    );
    const applied = new Map(rows.filter((r) => r.rolled_back_at === null).map((r) => [r.migration_name, r]));
    for (const r of applied.values()) {
      if (r.finished_at === null) {
        throw new MigrationError(`migration ${r.migration_name} failed earlier and was not rolled back; resolve it before starting`);
      }
    }
    const known = new Set(migrations.map((m) => m.name));
    for (const name of applied.keys()) {
      if (!known.has(name)) throw new MigrationError(`the database has migration ${name}, which is not in ${opts.migrationsDir ?? defaultMigrationsDir}`);
    }
    const done: string[] = [];
    for (const m of migrations) {
      const row = applied.get(m.name);
      if (row) {
        if (row.checksum !== m.checksum) throw new MigrationError(`migration ${m.name} was changed after it was applied (checksum differs)`);
        continue;
      }
      const id = randomUUID();
      try {
        await client.query('BEGIN');
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, m.checksum, m.name],
        );
        await client.query(m.sql);
        await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      done.push(m.name);
    }
    // Change-history entries written before the hash chain existed are chained now (their
    // canonical encoding is made in Node; see audit-chain.ts). A no-op once done.
    const chain = await client.query<{ t: string | null }>("SELECT to_regclass('audit_heads')::text AS t");
    if (chain.rows[0]?.t) await chainPendingAudit(client);
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {});
    await client.end();
  }
}
