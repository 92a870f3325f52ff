/**
 * Registers a route from its contract (packages/contract): the zod body schema validates the
 * request, and the handler's return type is the contract's response type.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import type { z } from 'zod';
import type { RouteContract } from '@sealmail/contract';

/** pino's level numbers ('silent' is above them all). */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

type BodyOf<C extends RouteContract> = C['body'] extends z.ZodType ? z.infer<C['body']> : undefined;
type ParamsOf<C extends RouteContract> = C['params'] extends z.ZodType ? z.infer<C['params']> : Record<string, never>;
type QueryOf<C extends RouteContract> = C['query'] extends z.ZodType ? z.infer<C['query']> : Record<string, never>;
export type RouteRequest<C extends RouteContract> = FastifyRequest & { body: BodyOf<C>; params: ParamsOf<C>; query: QueryOf<C> };

export function defineRoute<C extends RouteContract>(
  app: FastifyInstance,
  contract: C,
  handler: (req: RouteRequest<C>, reply: FastifyReply) => Promise<z.input<C['response']>>,
  opts: { logLevel?: 'warn' | 'info'; onRequest?: onRequestHookHandler; preHandler?: preHandlerAsyncHookHandler; bodyLimit?: number } = {},
): void {
  app.route({
    method: contract.method,
    url: contract.path,
    // A route may log less than the service does, never more.
    ...(opts.logLevel && LEVELS[opts.logLevel]! > (LEVELS[app.log.level] ?? Infinity) ? { logLevel: opts.logLevel } : {}),
    ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
    ...(opts.preHandler ? { preHandler: opts.preHandler } : {}),
    ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}),
    ...(contract.body || contract.params || contract.query
      ? {
          schema: {
            ...(contract.body ? { body: contract.body } : {}),
            ...(contract.params ? { params: contract.params } : {}),
            ...(contract.query ? { querystring: contract.query } : {}),
          },
        }
      : {}),
    handler: (req, reply) => handler(req as RouteRequest<C>, reply),
  });
}

/** Validates request parts with the zod schema a route declares. */
export function installZodValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const s = schema as z.ZodType;
    return (data: unknown) => {
      const r = s.safeParse(data);
      if (r.success) return { value: r.data };
      const issue = r.error.issues[0];
      const field = [httpPart ?? 'body', ...(issue?.path ?? [])].join('.');
      const error = Object.assign(new Error(`${field}: ${issue?.message ?? 'invalid'}`), { field });
      return { error };
    };
  });
}
