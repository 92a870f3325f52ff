/**
 * Serves a built single-page app (web client, admin console, link viewer) over HTTPS with strict
 * security headers, and forwards `/api/*` to the API so the page and its API share one origin.
 * Each app gets its own host (its own origin), so the link viewer never shares an origin with
 * the web client.
 *
 * Cookies: browsers send a host's cookies to every port of it, so each host forwards to the API
 * only its own app's session cookie (`sessionCookie`) and lets only that one be set; the link
 * viewer's host forwards only the public link routes (`apiPrefix`), drops every cookie the
 * browser sends on arrival and never lets one be set. Errors of the host itself (404, the API
 * unreachable, a request Node's parser refuses) are in the API's registry format.
 */
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import httpProxy from '@fastify/http-proxy';
import { errorBody, type ErrorCode } from '@sealmail/contract';
import type { Logger } from './logger';
import { tlsServerOptions } from './tls';
import { onlyCookie } from './cookies';
import { edgeClientErrorHandler, edgeFrameworkErrors, IDLE_CONNECTION_MS, MAX_PARAM_LENGTH } from './http-edge';

export interface WebHostOptions {
  /** The app's Vite build output (must contain index.html). */
  root: string;
  /** Content-Security-Policy for every response. */
  csp: string;
  /** Forward /api/* to this base URL (https). */
  apiUrl?: string;
  /** Trusted CA (PEM) for the API's certificate, e.g. the self-signed one. */
  apiCa?: string;
  /** The path prefix forwarded to the API (default `/api`; the link viewer: `/api/v1/links`). */
  apiPrefix?: string;
  /**
   * The one session cookie this host passes to the API and lets the API set (its app's, from
   * packages/server/src/cookies.ts); null: none, and every cookie is dropped on arrival.
   */
  sessionCookie: string | null;
  tls: { cert: string; key: string };
  logger: Logger;
  /**
   * Proxies in front of this host whose X-Forwarded-For it believes (SEALMAIL_WEB_TRUSTED_PROXIES);
   * none: the TCP peer is the client. The client address it settles on is what it forwards.
   */
  trustedProxies?: readonly string[];
  /**
   * Also forward `/.well-known/mta-sts.txt` to the API (no cookie, the host name asked for in
   * X-Forwarded-Host), so `mta-sts.<domain>` pointed at this host serves each verified domain's
   * MTA-STS policy (docs/admin.md, Domains).
   */
  mtaStsPolicy?: boolean;
}

/**
 * The strict policy the apps are built for: own scripts only, no inline script, no framing. The
 * web client's service worker (/sw.js, `worker-src 'self'`) and app manifest (`manifest-src`) are
 * its own origin's too.
 */
export function strictCsp(extra: { connectSrc?: string[] } = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    `connect-src 'self'${extra.connectSrc?.length ? ' ' + extra.connectSrc.join(' ') : ''}`,
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "frame-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The security headers of every answer of a web host (pages, assets, proxied API answers, errors). */
export function webHostHeaders(csp: string): Readonly<Record<string, string>> {
  return Object.freeze({
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'strict-transport-security': 'max-age=31536000',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
  });
}

/** The hashed build output (Vite's `build.assetsDir`): file names change whenever content does. */
export const HASHED_ASSETS_DIR = 'assets';

/** Cache-Control of a file the host serves from `root` (its path on disk, maybe a .br/.gz copy). */
export function cacheControlFor(root: string, file: string): string {
  const rel = relative(root, file).split(sep);
  return rel.length > 1 && rel[0] === HASHED_ASSETS_DIR ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** Builds the host; call `.listen()` on it. */
export async function buildWebHost(opts: WebHostOptions): Promise<FastifyInstance> {
  if (!existsSync(join(opts.root, 'index.html'))) {
    throw new Error(`web host: ${opts.root} has no index.html (run the Vite build first)`);
  }
  const headers = webHostHeaders(opts.csp);
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    https: tlsServerOptions(opts.tls),
    connectionTimeout: IDLE_CONNECTION_MS,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: edgeClientErrorHandler(headers),
    frameworkErrors: edgeFrameworkErrors(headers),
    trustProxy: opts.trustedProxies?.length ? [...opts.trustedProxies] : false,
  });
  const sendError = (reply: FastifyReply, code: ErrorCode, status: number) => reply.code(status).type('application/json; charset=utf-8').send(errorBody(code));
  if (opts.sessionCookie === null) {
    // The link viewer's host: no cookie is ever read, logged or passed on.
    app.addHook('onRequest', async (req) => {
      delete req.headers.cookie;
      delete req.raw.headers.cookie;
    });
  }
  app.addHook('onSend', async (_req, reply) => {
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'web host error');
    const code: ErrorCode = status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status < 500 ? 'MALFORMED_REQUEST' : 'INTERNAL';
    return sendError(reply, code, code === 'MALFORMED_REQUEST' ? 400 : code === 'INTERNAL' ? 500 : status);
  });
  if (opts.apiUrl) {
    const prefix = opts.apiPrefix ?? '/api';
    const keep = opts.sessionCookie;
    await app.register(httpProxy, {
      upstream: opts.apiUrl,
      prefix,
      rewritePrefix: prefix,
      undici: { connect: opts.apiCa ? { ca: opts.apiCa } : {} },
      replyOptions: {
        // Only this app's session cookie goes on; and the API throttles sign-ins by client
        // address, so it is told the client's, replacing whatever X-Forwarded-For the client sent
        // (the API trusts it from this host only).
        rewriteRequestHeaders: (req, h) => {
          const cookie = onlyCookie(typeof h.cookie === 'string' ? h.cookie : undefined, keep);
          const out: Record<string, unknown> = { ...h, 'x-forwarded-for': req.ip };
          delete out.cookie;
          return (cookie ? { ...out, cookie } : out) as typeof h;
        },
        rewriteHeaders: (h) => {
          const setCookie = h['set-cookie'];
          const out = { ...h };
          delete out['set-cookie'];
          const kept = (Array.isArray(setCookie) ? setCookie : setCookie ? [String(setCookie)] : []).filter((c) => keep !== null && c.startsWith(`${keep}=`));
          return kept.length ? { ...out, 'set-cookie': kept } : out;
        },
        // The API is down or unreachable: say so in the registry format, never the proxy's own body.
        onError: (reply, { error }) => {
          reply.log.warn({ err: error }, 'web host: API unreachable');
          void sendError(reply as unknown as FastifyReply, 'API_UNAVAILABLE', 502);
        },
      },
    });
  }
  if (opts.apiUrl && opts.mtaStsPolicy) {
    const path = '/.well-known/mta-sts.txt';
    await app.register(httpProxy, {
      upstream: opts.apiUrl,
      prefix: path,
      rewritePrefix: path,
      undici: { connect: opts.apiCa ? { ca: opts.apiCa } : {} },
      replyOptions: {
        rewriteRequestHeaders: (req, h) => {
          const out: Record<string, unknown> = { ...h, 'x-forwarded-for': req.ip, 'x-forwarded-host': req.hostname };
          delete out.cookie;
          return out as typeof h;
        },
        rewriteHeaders: (h) => {
          const out = { ...h };
          delete out['set-cookie'];
          return out;
        },
        onError: (reply, { error }) => {
          reply.log.warn({ err: error }, 'web host: API unreachable');
          void sendError(reply as unknown as FastifyReply, 'API_UNAVAILABLE', 502);
        },
      },
    });
  }
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }));
  // The build writes a brotli (.br) and a gzip (.gz) copy beside each asset; the one the browser
  // accepts is sent as is (`Vary: Accept-Encoding` on every file answer). Content-hashed files
  // under /assets never change: cached for a year; everything else (index.html, the web app
  // manifest, the service worker, icons) is revalidated on every use.
  await app.register(fastifyStatic, {
    root: opts.root,
    index: ['index.html'],
    wildcard: false,
    preCompressed: true,
    cacheControl: false,
    setHeaders: (reply, path) => void reply.header('cache-control', cacheControlFor(opts.root, path)),
  });
  // Client-side routes fall back to the app's page; missing assets stay 404.
  app.setNotFoundHandler((req, reply) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !/\.[a-z0-9]+$/i.test(req.url.split('?')[0] ?? '') && !req.url.startsWith('/api/')) {
      return reply.type('text/html').sendFile('index.html');
    }
    return sendError(reply, 'NOT_FOUND', 404);
  });
  return app;
}
