/**
 * Writes the next migration: `pnpm --filter @sealmail/db migration:new <name>`.
 *
 * Starts a scratch embedded Postgres, applies the existing migrations, asks Prisma's schema
 * engine (WASM) for the SQL from that database to prisma/schema.prisma, and writes it to
 * prisma/migrations/<UTC timestamp>_<name>/migration.sql. Review the SQL before committing.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/embedded';
import { applyMigrations, defaultMigrationsDir } from '../src/migrate';
import { dropMigrationsTable, openSchemaEngine, target } from '../src/schema-engine';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: migration:new <name>   (lower-case letters, digits, underscores)');
  process.exit(64);
}
const schemaFile = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));
const schema = await readFile(schemaFile, 'utf8');
const dir = await mkdtemp(join(tmpdir(), 'sealmail-migration-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000), postgresFlags: ['-c', 'fsync=off'] });
try {
  await applyMigrations(pg.connectionString);
  await dropMigrationsTable(pg.connectionString);
  const engine = await openSchemaEngine(pg.connectionString, schema);
  const sql = await engine.diffSql(target.database(schema), target.schema(schema));
  await engine.close();
  if (!sql) {
    console.log('schema.prisma matches the migrations: nothing to write');
  } else {
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const out = join(defaultMigrationsDir, `${stamp}_${name}`);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'migration.sql'), sql + '\n');
    console.log(`wrote ${join(out, 'migration.sql')}`);
  }
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
