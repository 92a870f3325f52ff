/**
 * Cross-site request forgery, refused at the edge (issue 12, finding 4). SameSite=Strict is not
 * enough on its own: the web client, the admin console and the link viewer are same-site with
 * each other (one host name, three ports), and older browsers ignore SameSite.
 *
 * Every state-changing request (POST, PUT, PATCH, DELETE) that a session cookie authenticates
 * must carry an `Origin` of that cookie's own app (docs/operations.md "CSRF and cookies"), and a
 * `Sec-Fetch-Site`, when the browser sends one, of `same-origin` (pages reach the API through
 * their own host's /api). Requests with `Authorization: Bearer` (the CLI) carry no cookie and are
 * not subject to it. A cookie-less state-changing request from a foreign origin (a forged
 * sign-in) is refused too. Refusals answer 403 CROSS_ORIGIN.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@sealmail/contract';
import { readCookie, SESSION_COOKIES, type AppOrigins, type SessionApp } from '@sealmail/server';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const APPS = Object.keys(SESSION_COOKIES) as SessionApp[];

/** The app whose origin `origin` is, or null. */
export function appOfOrigin(origins: AppOrigins, origin: string | undefined): SessionApp | null {
  if (!origin) return null;
  return APPS.find((a) => origins[a].includes(origin)) ?? null;
}

/** The apps whose session cookie the request carries. */
function cookieApps(req: FastifyRequest): SessionApp[] {
  return APPS.filter((a) => readCookie(req.headers.cookie, SESSION_COOKIES[a]) !== null);
}

const chosenApp = new WeakMap<FastifyRequest, SessionApp>();

/**
 * The session cookie a request authenticates with: its Origin's app's cookie when it names one,
 * else the only session cookie present (through a web host there is only ever its own).
 */
export function sessionCookieOf(req: FastifyRequest): { app: SessionApp; token: string } | null {
  const present = cookieApps(req);
  const app = chosenApp.get(req) ?? present[0];
  if (!app) return null;
  const token = readCookie(req.headers.cookie, SESSION_COOKIES[app]);
  return token === null ? null : { app, token };
}

/** The app a new session cookie is for: the admin console's when it signs in from there. */
export function appForNewSession(origins: AppOrigins, req: FastifyRequest): SessionApp {
  return appOfOrigin(origins, req.headers.origin) ?? 'web';
}

export function installCsrfGuard(app: FastifyInstance, origins: AppOrigins): void {
  app.addHook('onRequest', async (req) => {
    const originApp = appOfOrigin(origins, req.headers.origin);
    if (originApp) chosenApp.set(req, originApp);
    if (!STATE_CHANGING.has(req.method)) return;
    if (req.headers.authorization?.startsWith('Bearer ')) return;
    const site = req.headers['sec-fetch-site'];
    const present = cookieApps(req);
    if (present.length === 0) {
      // The link viewer's public reply (routes/transfer.ts): no session, the link id is the only
      // capability, so a request from any origin is no different from the viewer's own.
      if (req.method === 'POST' && /^\/api\/v1\/links\/[A-Za-z0-9_-]{22}\/replies$/.test(req.url)) return;
      // No cookie: nothing to forge with, except a sign-in into the attacker's account.
      if ((req.headers.origin !== undefined && !originApp) || (site !== undefined && site !== 'same-origin' && site !== 'none')) throw new ApiError('CROSS_ORIGIN');
      return;
    }
    if (!originApp || !present.includes(originApp)) throw new ApiError('CROSS_ORIGIN');
    if (site !== undefined && site !== 'same-origin') throw new ApiError('CROSS_ORIGIN');
  });
}
