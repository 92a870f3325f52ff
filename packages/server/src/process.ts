/**
 * What every Sealmail process does first: configuration, logger, TLS material; and small
 * helpers for processes and tests.
 */
import { createServer } from 'node:net';
import { loadConfigOrExit, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { loadOrCreateTls, type TlsMaterial } from './tls';

export interface ProcessBasics {
  config: Config;
  logger: Logger;
  tls: TlsMaterial;
}

/**
 * Loads the configuration (exiting with a clear message when it is invalid), makes the logger
 * and loads the TLS material. With `needsDatabase`, exits when DATABASE_URL is missing.
 */
export async function bootProcess(name: string, opts: { needsDatabase?: boolean } = {}): Promise<ProcessBasics & { databaseUrl: string }> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, name });
  if (opts.needsDatabase && !config.databaseUrl) {
    logger.fatal('DATABASE_URL is not set (the start command sets it when it runs its own Postgres)');
    process.exit(78);
  }
  const tls = await loadOrCreateTls({ ...config.tls, hostnames: ['localhost', '127.0.0.1', '::1', config.publicHost] });
  return { config, logger, tls, databaseUrl: config.databaseUrl ?? '' };
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for tests and throw-away servers). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
