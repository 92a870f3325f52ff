/**
 * Applies pending migrations to DATABASE_URL and, when SEALMAIL_SEED_DEMO is true, seeds the demo
 * account. The start command does the same itself; this is for deployments (docker-compose's
 * `migrate` service) where Postgres is external. It also makes the server mail key in the data
 * folder when there is none, so that several API and SMTP processes started next all load the
 * same one (docs/operations.md, "Scaling out").
 */
import { join } from 'node:path';
import { applyMigrations, createDb, seedDemo } from '@sealmail/db';
import { loadOrCreateServerMailKey } from '@sealmail/mailstore';
import { loadConfigOrExit } from '@sealmail/server';

const config = loadConfigOrExit();
if (!config.databaseUrl) {
  process.stderr.write('sealmail migrate: DATABASE_URL is not set\n');
  process.exit(78);
}
const applied = await applyMigrations(config.databaseUrl);
process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'migrations up to date\n');
await loadOrCreateServerMailKey(config.dataDir);
if (config.demo.seed) {
  const db = createDb(config.databaseUrl);
  const seed = await seedDemo(db, { domain: config.demo.domain, credentialsFile: join(config.dataDir, 'demo-credentials.json') });
  process.stdout.write(`demo account ${seed.domain}: credentials in ${join(config.dataDir, 'demo-credentials.json')}\n`);
  await db.$disconnect();
}
