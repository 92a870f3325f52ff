/**
 * Fastify's per-request logger, made only when a request logs something.
 *
 * Fastify gives every request `logger.child({ reqId }, { level })`. With our redaction paths
 * (packages/server/src/logger.ts: every sensitive key at any depth, so wildcards) pino runs the
 * redacting stringifier over the child's bindings each time: ~9 % of the API process's CPU under
 * a load of cached list pages (docs/performance.md "A per-process cache kept right by Postgres"),
 * for children that log nothing at level warn. This factory hands out a stand-in (methods on its
 * prototype: nothing is allocated per request but the object) that makes the real child on the
 * first call at an enabled level, so what is logged is exactly what it was.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type Factory = NonNullable<FastifyServerOptions['childLoggerFactory']>;
type Log = (...args: unknown[]) => void;

class LazyChild {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Parameters<Factory>[1],
    private readonly opts: Parameters<Factory>[2],
  ) {}

  private make(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings, this.opts));
  }

  get level(): string {
    return this.real ? this.real.level : (this.opts.level ?? this.parent.level);
  }

  set level(v: string) {
    this.make().level = v;
  }

  private on(method: string): boolean {
    const level = this.level;
    const values = (this.parent as unknown as { levels: { values: Record<string, number> } }).levels.values;
    return level !== 'silent' && values[method]! >= (values[level] ?? 0);
  }

  child(bindings: Parameters<Factory>[1], opts?: Parameters<Factory>[2]): FastifyBaseLogger {
    return this.make().child(bindings, opts);
  }

  fatal(...args: unknown[]): void {
    if (this.on('fatal')) (this.make().fatal as Log)(...args);
  }
  error(...args: unknown[]): void {
    if (this.on('error')) (this.make().error as Log)(...args);
  }
  warn(...args: unknown[]): void {
    if (this.on('warn')) (this.make().warn as Log)(...args);
  }
  info(...args: unknown[]): void {
    if (this.on('info')) (this.make().info as Log)(...args);
  }
  debug(...args: unknown[]): void {
    if (this.on('debug')) (this.make().debug as Log)(...args);
  }
  trace(...args: unknown[]): void {
    if (this.on('trace')) (this.make().trace as Log)(...args);
  }
  silent(): void {}
}

export const lazyChildLoggerFactory: Factory = (logger, bindings, opts) => new LazyChild(logger, bindings, opts) as unknown as FastifyBaseLogger;
