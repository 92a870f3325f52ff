/**
 * The API process: `tsx apps/api/src/main.ts`. Reads the configuration, connects to Postgres
 * (DATABASE_URL, set by the start command when it runs the embedded one), listens over HTTPS.
 */
import { readFileSync } from 'node:fs';
import { createLogger, loadConfigOrExit, loadOrCreateTls } from '@sealmail/server';
import { createDb } from '@sealmail/db';
import { buildApp } from './app';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'api' });
if (!config.databaseUrl) {
  logger.fatal('DATABASE_URL is not set (the start command sets it when it runs its own Postgres)');
  process.exit(78);
}
const tls = await loadOrCreateTls({ ...config.tls, hostnames: ['localhost', '127.0.0.1', '::1', config.publicHost] });
const db = createDb(config.databaseUrl);
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const app = await buildApp({ logger, db, version, tls, auth: config.auth });

let closing = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (closing) return;
    closing = true;
    void app.close().then(() => db.$disconnect()).finally(() => process.exit(0));
  });
}
await app.listen({ host: config.bindHost, port: config.ports.api });
