/**
 * What the web hosts send and what the web client keeps, on the start command's stack (real
 * builds, real HTTPS, Chromium):
 *  - scripts, styles and pages go out pre-compressed: brotli to Chromium, gzip to a client that
 *    accepts only gzip, with every security header; content-hashed files are cached for good
 *    (`immutable`), the page, manifest and service worker are revalidated (`no-cache`);
 *  - each app (web client, admin console, link viewer) has a favicon; the web client has an
 *    installable manifest with its icons;
 *  - the web client's service worker registers, precaches the app shell (the page, its scripts,
 *    the key worker) and, after the mailbox was used (a mail received and read), Cache Storage
 *    holds no /api/ answer and nothing of the mail.
 */
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { chromiumPath, confirmBackupKey, printedPasswords, stackEnvironment, startSealmail, type Started, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let ca: string;
const ALICE = 'alice@example.test';

beforeAll(async () => {
  running = await startSealmail(env);
  ca = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8');
  // Service workers need a certificate the browser accepts, not only an error it was told to
  // ignore: the stack's self-signed one is accepted for the whole browser here.
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  });
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, ca, servername: 'localhost' }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(h: IncomingHttpHeaders | Record<string, string>, what: string) {
  expect(h['content-security-policy'], what).toMatch(/default-src 'none'.*script-src 'self'.*worker-src 'self'.*manifest-src 'self'/);
  expect(h['strict-transport-security'], what).toMatch(/max-age=\d+/);
  expect(h['x-content-type-options'], what).toBe('nosniff');
  expect(h['x-frame-options'], what).toBe('DENY');
  expect(h['referrer-policy'], what).toBe('no-referrer');
  expect(h['cross-origin-opener-policy'], what).toBe('same-origin');
  expect(h.vary, what).toMatch(/accept-encoding/i);
}

const APPS = { web: () => ports.web, admin: () => ports.admin, viewer: () => ports.viewer };

describe('compression and caching of the served builds', () => {
  it('sends each app’s page and scripts brotli-compressed, or gzip where only gzip is accepted, with every security header', async () => {
    for (const [app, port] of Object.entries(APPS)) {
      const page = await get(port(), '/', { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect(page.status, app).toBe(200);
      expect(page.headers['content-encoding'], app).toBe('br');
      expect(page.headers['cache-control'], app).toBe('no-cache');
      expectSecurityHeaders(page.headers, `${app} page`);
      const html = brotliDecompressSync(page.body).toString();
      const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, `${app}: the page loads a hashed script`).toBeDefined();

      const br = await get(port(), script!, { 'accept-encoding': 'gzip, deflate, br' });
      expect(br.headers['content-encoding'], app).toBe('br');
      expect(br.headers['content-type'], app).toMatch(/javascript/);
      expect(br.headers['cache-control'], app).toBe('public, max-age=31536000, immutable');
      expectSecurityHeaders(br.headers, `${app} script`);
      const gz = await get(port(), script!, { 'accept-encoding': 'gzip' });
      expect(gz.headers['content-encoding'], app).toBe('gzip');
      expect(gz.headers['cache-control'], app).toBe('public, max-age=31536000, immutable');
      expectSecurityHeaders(gz.headers, `${app} script (gzip)`);
      const plain = await get(port(), script!, { 'accept-encoding': 'identity' });
      expect(plain.headers['content-encoding'], app).toBeUndefined();
      // All three are the same file.
      expect(brotliDecompressSync(br.body).equals(plain.body), app).toBe(true);
      expect(gunzipSync(gz.body).equals(plain.body), app).toBe(true);
    }
  });

  it('each app has a favicon; the web client an app manifest with its icons, all revalidated', async () => {
    for (const [app, port] of Object.entries(APPS)) {
      const icon = await get(port(), '/favicon.svg');
      expect(icon.status, app).toBe(200);
      expect(icon.headers['content-type'], app).toMatch(/^image\/svg\+xml/);
      expect(icon.headers['cache-control'], app).toBe('no-cache');
      expectSecurityHeaders(icon.headers, `${app} favicon`);
    }
    const manifest = await get(ports.web, '/manifest.webmanifest');
    expect(manifest.status).toBe(200);
    expect(manifest.headers['content-type']).toMatch(/^application\/manifest\+json/);
    const m = JSON.parse(manifest.body.toString()) as { name: string; display: string; theme_color: string; icons: { src: string; sizes: string; type: string }[] };
    expect(m).toMatchObject({ name: 'Sealmail', display: 'standalone', theme_color: expect.stringMatching(/^#[0-9a-f]{6}$/) });
    expect(m.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512', 'any']));
    for (const i of m.icons) {
      const res = await get(ports.web, i.src);
      expect(res.status, i.src).toBe(200);
      expect(res.headers['content-type'], i.src).toContain(i.type);
    }
    const sw = await get(ports.web, '/sw.js', { 'accept-encoding': 'br' });
    expect(sw.headers['content-encoding']).toBe('br');
    expect(sw.headers['cache-control']).toBe('no-cache');
  });
});

describe('the web client in Chromium', () => {
  it('gets brotli, shows a favicon, registers its service worker; Cache Storage holds the shell and nothing of the mailbox', async () => {
    const passwords = printedPasswords(running.output());
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const encodings = new Map<string, string | undefined>();
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/assets/')) encodings.set(new URL(r.url()).pathname, r.headers()['content-encoding']);
    });
    const notFound: string[] = [];
    page.on('response', (r) => void (r.status() === 404 && notFound.push(r.url())));
    await page.goto(`https://localhost:${ports.web}/`);
    await page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor();
    // Chromium asked for brotli and got it, for every script and style it loaded.
    expect(encodings.size).toBeGreaterThan(0);
    for (const [path, enc] of encodings) expect(enc, path).toBe('br');
    expect(await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href)).toMatch(/\/favicon\.svg$/);
    expect(await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="manifest"]')?.href)).toMatch(/\/manifest\.webmanifest$/);

    // The service worker: registered from the page, active, and the shell in Cache Storage.
    const registered = () => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.scriptURL ?? null);
    await expect.poll(registered, { timeout: 30_000 }).toBe(`https://localhost:${ports.web}/sw.js`);
    const cached = () =>
      page.evaluate(async () => {
        const out: string[] = [];
        for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname);
        return out;
      });
    await expect.poll(cached, { timeout: 30_000 }).toContain('/');
    const shell = await cached();
    const entry = await page.evaluate(() => new URL(document.querySelector<HTMLScriptElement>('script[type="module"]')!.src).pathname);
    expect(shell).toContain(entry);
    expect(shell.some((p) => /^\/assets\/keys\.worker-[\w-]+\.js$/.test(p)), 'the key worker is precached').toBe(true);
    expect(shell).toContain('/manifest.webmanifest');

    // Use the mailbox: sign in, set up keys, receive a mail and read it.
    const canary = `pwa-canary-${Date.now().toString(36)}`;
    await page.getByLabel('E-mail address').fill(ALICE);
    await page.getByLabel('Password').fill(passwords[ALICE]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ports.smtp, secure: false, requireTLS: true, tls: { ca, servername: 'localhost' } });
    await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to: ALICE, subject: `Subject ${canary}`, text: `Body ${canary}` });
    transport.close();
    const row = page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: new RegExp(canary) });
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    await page.getByRole('region', { name: 'Reading pane' }).getByText(`Body ${canary}`).waitFor();
    // Pages loaded after the service worker took over are served through it: reload and use it again.
    await page.reload();
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

    const after = await page.evaluate(async () => {
      const out: { url: string; body: string }[] = [];
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const req of await cache.keys()) out.push({ url: req.url, body: await (await cache.match(req))!.text() });
      }
      return out;
    });
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((e) => new URL(e.url).pathname.startsWith('/api/'))).toEqual([]);
    expect(after.filter((e) => e.body.includes(canary)).map((e) => e.url)).toEqual([]);
    expect(notFound).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
