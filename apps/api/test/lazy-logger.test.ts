/**
 * The per-request logger made only when a request logs (src/http/lazy-logger.ts): nothing is made
 * for calls below the level, and what is logged carries the request's bindings and is redacted
 * exactly as the real child's output.
 */
import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@sealmail/server';
import { lazyChildLoggerFactory } from '../src/http/lazy-logger';

describe('lazy per-request logger', () => {
  it('makes the child only for an enabled level, with the bindings and redaction of the real one', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) });
    const logger = createLogger({ level: 'warn', destination: sink }) as unknown as FastifyBaseLogger;
    let made = 0;
    const parent = new Proxy(logger, { get: (t, k) => (k === 'child' ? (...a: Parameters<FastifyBaseLogger['child']>) => (made++, t.child(...a)) : Reflect.get(t, k)) });
    const log = lazyChildLoggerFactory.call(undefined as never, parent, { reqId: 'req-7' }, {}, undefined as never);
    log.info({ password: 'hunter2' }, 'below the level');
    log.debug('below the level');
    expect(made).toBe(0);
    expect(lines).toEqual([]);
    expect(log.level).toBe('warn');
    log.warn({ password: 'hunter2' }, 'something to see');
    expect(made).toBe(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ reqId: 'req-7', msg: 'something to see', password: '[redacted]' });
    // A route's own level (Fastify passes it) is honoured.
    const quiet = lazyChildLoggerFactory.call(undefined as never, parent, { reqId: 'req-8' }, { level: 'error' }, undefined as never);
    quiet.warn('below this route level');
    expect(lines).toHaveLength(1);
    quiet.error('seen');
    expect(lines).toHaveLength(2);
  });
});
