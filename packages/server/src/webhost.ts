/**
 * Serves a built single-page app (web client, admin console, link viewer) over HTTPS with strict
 * security headers, and forwards `/api/*` to the API so the page and its API share one origin.
 * Each app gets its own host (its own origin), so the link viewer never shares an origin with
 * the web client.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import httpProxy from '@fastify/http-proxy';
import type { Logger } from './logger';

export interface WebHostOptions {
  /** The app's Vite build output (must contain index.html). */
  root: string;
  /** Content-Security-Policy for every response. */
  csp: string;
  /** Forward /api/* to this base URL (https). */
  apiUrl?: string;
  /** Trusted CA (PEM) for the API's certificate, e.g. the self-signed one. */
  apiCa?: string;
  tls: { cert: string; key: string };
  logger: Logger;
  /**
   * Proxies in front of this host whose X-Forwarded-For it believes (SEALMAIL_WEB_TRUSTED_PROXIES);
   * none: the TCP peer is the client. The client address it settles on is what it forwards.
   */
  trustedProxies?: readonly string[];
}

/** The strict policy the apps are built for: own scripts only, no inline script, no framing. */
export function strictCsp(extra: { connectSrc?: string[] } = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    `connect-src 'self'${extra.connectSrc?.length ? ' ' + extra.connectSrc.join(' ') : ''}`,
    "worker-src 'self' blob:",
    "frame-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Builds the host; call `.listen()` on it. */
export async function buildWebHost(opts: WebHostOptions): Promise<FastifyInstance> {
  if (!existsSync(join(opts.root, 'index.html'))) {
    throw new Error(`web host: ${opts.root} has no index.html (run the Vite build first)`);
  }
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    https: { cert: opts.tls.cert, key: opts.tls.key },
    disableRequestLogging: false,
    trustProxy: opts.trustedProxies?.length ? [...opts.trustedProxies] : false,
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('Content-Security-Policy', opts.csp);
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Cross-Origin-Resource-Policy', 'same-origin');
    reply.header('Strict-Transport-Security', 'max-age=31536000');
    reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()');
  });
  if (opts.apiUrl) {
    await app.register(httpProxy, {
      upstream: opts.apiUrl,
      prefix: '/api',
      rewritePrefix: '/api',
      undici: { connect: opts.apiCa ? { ca: opts.apiCa } : {} },
      // The API throttles sign-ins by client address: tell it the client's, replacing whatever
      // X-Forwarded-For the client sent (the API trusts it from this host only).
      replyOptions: { rewriteRequestHeaders: (req, headers) => ({ ...headers, 'x-forwarded-for': req.ip }) },
    });
  }
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }));
  await app.register(fastifyStatic, { root: opts.root, index: ['index.html'], wildcard: false, maxAge: 0 });
  // Client-side routes fall back to the app's page; missing assets stay 404.
  app.setNotFoundHandler((req, reply) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !/\.[a-z0-9]+$/i.test(req.url.split('?')[0] ?? '') && !req.url.startsWith('/api/')) {
      return reply.type('text/html').sendFile('index.html');
    }
    return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'No such route or resource.' } });
  });
  return app;
}
