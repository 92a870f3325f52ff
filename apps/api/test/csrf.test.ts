/**
 * Cross-site request forgery (issue 12, finding 4): every state-changing request that a session
 * cookie authenticates must come from its own app's origin. The body-less POSTs the review
 * forged (sign-out, TOTP enrolment, escrow off, outbound retry/cancel, blob complete) are refused
 * from a foreign origin, work from the app's own, and Bearer requests (the CLI) are not affected.
 * Each app has its own `__Host-` cookie, and one app's cookie does not work from the other's.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAppOrigins, SESSION_COOKIES } from '@sealmail/server';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
const WEB = defaultAppOrigins.web[0]!;
const ADMIN = defaultAppOrigins.admin[0]!;
/** The link viewer: same site as the web client (same host, another port), another origin. */
const VIEWER = 'https://localhost:8445';
const EVIL = 'https://evil.example';

beforeAll(async () => {
  h = await harness();
});
afterAll(async () => h?.close());

/** Signs in through an app's origin; answers the cookie pair (name=value) it set, and the token. */
async function signInFrom(origin: string, address: string) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: { origin }, payload: { address, password: h.password(address) } });
  expect(res.statusCode).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  return { setCookie, cookie: setCookie.split(';')[0]!, token: (res.json() as { token: string }).token };
}

type Post = { name: string; url: (ctx: { blobId: string }) => string; as: 'user' | 'admin' };
const bodyless: Post[] = [
  { name: 'sign-out', url: () => '/api/v1/auth/sign-out', as: 'user' },
  { name: 'TOTP enrolment', url: () => '/api/v1/auth/totp/enroll', as: 'user' },
  { name: 'escrow off', url: () => '/api/v1/admin/escrow/disable', as: 'admin' },
  { name: 'outbound retry', url: () => `/api/v1/admin/outbound/${randomUUID()}/retry`, as: 'admin' },
  { name: 'outbound cancel', url: () => `/api/v1/admin/outbound/${randomUUID()}/cancel`, as: 'admin' },
  { name: 'blob complete', url: (c) => `/api/v1/blobs/${c.blobId}/complete`, as: 'user' },
];

async function fixture(p: Post) {
  const address = p.as === 'admin' ? 'admin@example.test' : 'alice@example.test';
  const origin = p.as === 'admin' ? ADMIN : WEB;
  const s = await signInFrom(origin, address);
  const blob = await h.app.inject({ method: 'POST', url: '/api/v1/blobs', headers: bearer(s.token), payload: { size: 10 } });
  const blobId = blob.statusCode === 200 ? (blob.json() as { blobId: string }).blobId : randomUUID();
  return { ...s, origin, url: p.url({ blobId }) };
}

describe('CSRF: body-less POSTs with a session cookie', () => {
  it.each(bodyless)('$name from a foreign origin is refused with 403 CROSS_ORIGIN', async (p) => {
    const f = await fixture(p);
    for (const headers of [
      { cookie: f.cookie, origin: EVIL },
      { cookie: f.cookie, origin: VIEWER },
      { cookie: f.cookie, origin: 'null' },
      { cookie: f.cookie }, // no Origin at all
      { cookie: f.cookie, origin: f.origin, 'sec-fetch-site': 'same-site' }, // a forged Origin cannot pass a browser's own Sec-Fetch-Site
      { cookie: f.cookie, origin: f.origin, 'sec-fetch-site': 'cross-site' },
    ]) {
      const res = await h.app.inject({ method: 'POST', url: f.url, headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json()).toEqual({ error: { code: 'CROSS_ORIGIN', message: 'This request came from another site and was refused.' } });
    }
    // Nothing happened: the session still works.
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: bearer(f.token) })).statusCode).toBe(200);
  });

  it.each(bodyless)('$name from its own origin answers what the same request with a bearer token answers', async (p) => {
    const a = await fixture(p);
    const viaBearer = await h.app.inject({ method: 'POST', url: a.url, headers: { ...bearer(a.token), origin: EVIL } });
    const b = await fixture(p);
    const viaCookie = await h.app.inject({ method: 'POST', url: b.url, headers: { cookie: b.cookie, origin: b.origin, 'sec-fetch-site': 'same-origin' } });
    expect(viaCookie.statusCode).toBe(viaBearer.statusCode);
    expect(viaCookie.body).not.toContain('CROSS_ORIGIN');
  });

  it('a sign-out from the own origin ends the session and clears the cookie', async () => {
    const s = await signInFrom(WEB, 'bob@example.test');
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: { cookie: s.cookie, origin: WEB } });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['set-cookie'])).toMatch(new RegExp(`^${SESSION_COOKIES.web}=; Path=/;.*Max-Age=0`));
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: s.cookie } })).statusCode).toBe(401);
  });

  it('a sign-in posted from a foreign origin is refused (login CSRF)', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: { origin: EVIL }, payload: { address: 'bob@example.test', password: h.password('bob@example.test') } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'CROSS_ORIGIN' } });
  });

  it('GETs and Bearer requests are not subject to it', async () => {
    const s = await signInFrom(WEB, 'bob@example.test');
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    const device = await h.deviceSignIn('bob@example.test');
    const cli = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: { ...bearer(device.token), origin: EVIL }, payload: { addresses: ['alice@example.test'] } });
    expect(cli.statusCode).toBe(200);
  });
});

describe('one __Host- cookie per app', () => {
  it('the web client and the admin console get distinct __Host- cookies (Secure, Path=/, no Domain)', async () => {
    const web = await signInFrom(WEB, 'admin@example.test');
    const admin = await signInFrom(ADMIN, 'admin@example.test');
    expect(web.setCookie).toMatch(/^__Host-sealmail-web=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=\d+$/);
    expect(admin.setCookie).toMatch(/^__Host-sealmail-admin=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=\d+$/);
    expect(web.setCookie).not.toMatch(/Domain=/i);
  });

  it("the admin console's cookie does not work from the web client's origin, nor the other way round", async () => {
    const admin = await signInFrom(ADMIN, 'admin@example.test');
    const web = await signInFrom(WEB, 'alice@example.test');
    const fromWeb = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: { cookie: admin.cookie, origin: WEB } });
    expect(fromWeb.json()).toMatchObject({ error: { code: 'CROSS_ORIGIN' } });
    const fromAdmin = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: { cookie: web.cookie, origin: ADMIN } });
    expect(fromAdmin.json()).toMatchObject({ error: { code: 'CROSS_ORIGIN' } });
    // With both cookies (a browser on one host name sends both), each origin uses its own.
    const both = `${web.cookie}; ${admin.cookie}`;
    const asWeb = await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: both, origin: WEB } });
    const asAdmin = await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: both, origin: ADMIN } });
    expect((asWeb.json() as { user: { address: string } }).user.address).toBe('alice@example.test');
    expect((asAdmin.json() as { user: { address: string } }).user.address).toBe('admin@example.test');
  });

  it('the old cookie name is not read any more', async () => {
    const s = await signInFrom(WEB, 'bob@example.test');
    const value = s.cookie.split('=')[1]!;
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: `sealmail_session=${value}` } })).statusCode).toBe(401);
  });
});
