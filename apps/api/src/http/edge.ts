/**
 * What every API request passes before its route: security headers on every answer (set on the
 * raw response, so errors, 404s and streamed answers carry them too), and a guard that refuses
 * text no part of Sealmail can store (NUL, lone UTF-16 surrogates) anywhere in the path
 * parameters, query or JSON body with 400 VALIDATION_FAILED, whatever the route's own schema says.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, hasUnstorableText } from '@sealmail/contract';
import { API_SECURITY_HEADERS } from '@sealmail/server';

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (_req, reply) => {
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) reply.raw.setHeader(name, value);
  });
}

/** The path of the first unstorable string in `value` (keys included), or null. */
export function findUnstorable(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return hasUnstorableText(value) ? path : null;
  if (depth > 64 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findUnstorable(value[i], `${path}.${i}`, depth + 1);
      if (hit) return hit;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    if (hasUnstorableText(k)) return path;
    const hit = findUnstorable(v, `${path}.${k}`, depth + 1);
    if (hit) return hit;
  }
  return null;
}

export function installInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    const hit =
      findUnstorable(req.params, 'params') ?? findUnstorable(req.query, 'querystring') ?? (Buffer.isBuffer(req.body) ? null : findUnstorable(req.body, 'body'));
    if (hit) throw new ApiError('VALIDATION_FAILED', hit, `${hit}: expected text without NUL bytes or unpaired surrogates`);
  });
}
