/**
 * Fastify's per-request logger, made only when a request logs something.
 *
 * Fastify gives every request `logger.child({ reqId }, { level })`. With our redaction paths
 * (packages/server/src/logger.ts: every sensitive key at any depth, so wildcards) pino runs the
 * redacting stringifier over the child's bindings each time: ~9 % of the API process's CPU under
 * a load of cached list pages (docs/performance.md "A per-process cache kept right by Postgres"),
 * for children that log nothing at level warn. This factory hands out a stand-in that makes the
 * real child on the first call at an enabled level, so what is logged is exactly what it was.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

const METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const lazyChildLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = function (logger, bindings, opts) {
  let real: FastifyBaseLogger | undefined;
  const make = () => (real ??= logger.child(bindings, opts));
  const values = (logger as unknown as { levels: { values: Record<string, number> } }).levels.values;
  const levelOf = () => (real ? real.level : (opts.level ?? logger.level));
  const enabled = (m: string) => levelOf() !== 'silent' && values[m]! >= (values[levelOf()] ?? 0);
  const lazy = {
    get level() {
      return levelOf();
    },
    set level(v: string) {
      make().level = v;
    },
    child: (b: Record<string, unknown>, o?: Record<string, unknown>) => make().child(b, o),
    silent: () => undefined,
  } as unknown as FastifyBaseLogger;
  for (const m of METHODS) {
    (lazy as unknown as Record<string, (...args: unknown[]) => void>)[m] = (...args: unknown[]) => {
      if (enabled(m)) (make()[m] as (...a: unknown[]) => void)(...args);
    };
  }
  return lazy;
};
