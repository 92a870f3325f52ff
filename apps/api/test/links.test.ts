/**
 * Expiring password links, end to end (MISSION §3, seed 003): Alice sends a mail with an
 * attachment to carol@example.org as a link that expires in a day. The relay mails Carol a notice
 * (to a real smtp-server on loopback standing in for her MX; MX answers come from a table — the
 * only thing mocked); the link opens in a fresh Chromium context on the real viewer build behind
 * the real web host (strict CSP, /api forwarded to the API over TLS) and shows the mail, and the
 * attachment downloads intact. A link scanner that fetches the page (HEAD, GET, and running its
 * script) changes nothing. The password is never in any table, in the logs, or in any request a
 * browser made. When the injected clock passes the expiry, the public copy is deleted, the link
 * says it expired, and Alice's Sent copy stays.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { build } from 'vite';
import { simpleParser } from 'mailparser';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { ephemeralServerMailKey, loadOrCreateDkimKey } from '@sealmail/mailstore';
import { buildWebHost, createLogger, defaultAuthSettings, freePort, linkLogId, loadOrCreateTls, SESSION_COOKIES, strictCsp, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { MtaSts } from '../src/mail/mta-sts';
import { injectFetch, startRemoteMx, until } from './helpers';

let tdb: TestDatabase;
let api: FastifyInstance;
let web: FastifyInstance;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let browser: Browser;
let dir: string;
let tls: TlsMaterial;
let viewerPort = 0;
let passwords: Record<string, string>;
const logs: string[] = [];
const requests: string[] = [];
const apiCookies: string[] = [];
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
const CANARY = `canary-link-${randomBytes(6).toString('hex')}`;
const file = Buffer.from(`attachment ${CANARY}\n`.repeat(5000));


beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-links-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
  // Everything the API logs, at debug level, is kept to look for the password afterwards.
  const logSink = new Writable({ write: (chunk: Buffer, _e, cb) => void (logs.push(chunk.toString()), cb()) });
  viewerPort = await freePort();
  api = await buildApp({
    logger: createLogger({ level: 'debug', destination: logSink }),
    db: tdb.prisma,
    version: 't',
    tls,
    now: () => clock.now,
    auth: { ...defaultAuthSettings, sessionIdleMs: 30 * 86400_000, sessionMaxMs: 60 * 86400_000 },
    serverKey: ephemeralServerMailKey(),
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      viewerUrl: `https://localhost:${viewerPort}`,
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx: async (domain) => (domain === 'example.org' ? [{ exchange: 'localhost', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
      port: mx.port,
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
      // No MTA-STS policies: TXT answers come from an empty table (nothing outside is asked).
      mtaSts: new MtaSts({ resolveTxt: async () => [] }),
    },
  });
  // Every Cookie header that reaches the API (the viewer's host must pass on none).
  api.addHook('onRequest', async (req) => {
    if (req.headers.cookie) apiCookies.push(req.headers.cookie);
  });
  const apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
  // The real viewer build, served as the start command serves it.
  const root = join(dir, 'viewer');
  await build({ root: join(import.meta.dirname, '../../viewer'), logLevel: 'silent', build: { outDir: root, emptyOutDir: true } });
  web = await buildWebHost({ root, csp: strictCsp(), apiUrl, apiCa: tls.cert, apiPrefix: '/api/v1/links', sessionCookie: null, tls, logger: createLogger({ level: 'silent' }) });
  await web.listen({ host: '127.0.0.1', port: viewerPort });
  // Debian's Chromium (.ci/run installs it), driven by playwright-core.
  const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  if (!executablePath) throw new Error('Chromium not found: install it (apt-get install -y chromium); .ci/run does');
  browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await api?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** Alice's one device: every sign-in of hers binds to the same, approved device. */
const aliceStore = memoryKeyStore();

async function alice() {
  const res = await api.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'alice@example.test', password: passwords['alice@example.test'] } });
  const token = (res.json() as { token: string }).token;
  const client = new ApiClient({ baseUrl: 'http://api.invalid', token, fetch: injectFetch(api) });
  const identity = new Identity(client, aliceStore);
  await identity.setUpThisDevice({ address: 'alice@example.test', name: 'Laptop', kind: 'cli' });
  return { api: client, token, mail: new Mailer(client, identity, 'alice@example.test') };
}

/** Every row of every table as text (bytea as hex), for looking for a secret. */
async function tableDump(): Promise<string> {
  const tables = await tdb.prisma.$queryRaw<{ t: string }[]>`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'`;
  const out: string[] = [];
  for (const { t } of tables) {
    const rows = await tdb.prisma.$queryRawUnsafe<{ r: string }[]>(`SELECT x::text AS r FROM ${t.split('.').map((p) => `"${p}"`).join('.')} x`);
    out.push(...rows.map((r) => r.r));
  }
  return out.join('\n');
}

let sent: { entryId: string; messageId: string };
let link: string;

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// eslint-disable-next-line sealmail/no-process-env -- where this test run writes its screenshots, not server configuration
const shots = process.env.SEALMAIL_SCREENSHOTS || fileURLToPath(new URL('../../../e2e/screenshots/', import.meta.url));

/** The viewer at desktop and phone size: a screenshot each, axe-core's serious and critical findings, sideways scrolling. */
async function auditViewer(page: Page, name: string): Promise<string[]> {
  await mkdir(shots, { recursive: true });
  const problems: string[] = [];
  for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const label = `${name}-${size.width}x${size.height}`;
    await page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
    const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    if (w.scroll > w.inner) problems.push(`${label}: ${w.scroll} px wide in a ${w.inner} px window`);
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
    const result = (await page.evaluate(() => (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<unknown> } }).axe.run(document, { resultTypes: ['violations'] }))) as {
      violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
    };
    for (const v of result.violations) if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${label}: ${v.impact} ${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  }
  return problems;
}

describe('expiring password links', { timeout: 120_000 }, () => {
  it('an outside recipient opens the link in a fresh browser; the server never keeps the password', async () => {
    const a = await alice();
    sent = await a.mail.send({
      to: ['carol@example.org'],
      subject: `Contract ${CANARY}`,
      text: `Dear Carol, the contract is attached. ${CANARY}`,
      attachments: [{ name: 'contract.txt', type: 'text/plain', size: file.length, stream: () => new Blob([file]).stream() }],
      links: { expiresIn: '1d' },
    });
    // The notice: from Alice, with the link; none of the mail's content.
    const raw = await until(async () => mx.received[0]?.raw, 60_000);
    const notice = await simpleParser(raw);
    expect(notice.from?.value[0]?.address).toBe('alice@example.test');
    expect(raw.toString('latin1')).not.toContain(CANARY);
    link = /https:\/\/localhost:\d+\/m\/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/.exec(notice.text ?? '')![0];
    const [, fragment] = link.split('#');
    const [password, digest] = fragment!.split('.') as [string, string];
    const passwordHex = Buffer.from(password, 'base64url').toString('hex');
    // The relay erased the password once the notice was out.
    await until(async () => (await tdb.prisma.mailLink.findFirst({ where: { sourceMessageId: sent.messageId } }))?.secretBox === null);

    // A link scanner: HEAD and GET of the page, then a browser running its script. Nothing breaks.
    const page = link.split('#')[0]!;
    for (const method of ['HEAD', 'GET']) {
      const res = await web.inject({ method: method as 'GET', url: new URL(page).pathname });
      expect(res.statusCode).toBe(200);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
    }
    const scanner = await browser.newContext({ ignoreHTTPSErrors: true });
    const scan = await scanner.newPage();
    await scan.goto(link);
    await expect.poll(() => scan.locator('#subject').textContent(), { timeout: 30_000 }).toContain(CANARY);
    await scanner.close();

    // Carol, in a fresh context: the fragment leaves the address bar, the mail shows, the file downloads.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    // Carol also uses a Sealmail web client on the same host name (another port): her browser
    // sends its session cookie to the viewer's origin too (cookies do not separate ports).
    await context.addCookies([{ name: SESSION_COOKIES.web, value: 'w'.repeat(43), url: `https://localhost:${viewerPort}/`, secure: true, httpOnly: true, sameSite: 'Strict' }]);
    context.on('request', (r) => requests.push(`${r.method()} ${r.url()} ${JSON.stringify(r.headers())} ${r.postData() ?? ''}`));
    const carol = await context.newPage();
    const errors: string[] = [];
    carol.on('pageerror', (e) => errors.push(e.message));
    await carol.goto(link);
    await expect.poll(() => carol.locator('#subject').textContent(), { timeout: 30_000 }).toBe(`Contract ${CANARY}`);
    expect(carol.url()).not.toContain('#');
    expect(await carol.locator('.text-body').textContent()).toContain(`Dear Carol, the contract is attached. ${CANARY}`);
    const [download] = await Promise.all([carol.waitForEvent('download'), carol.getByRole('button', { name: /Download contract\.txt/ }).click()]);
    const saved = await readFile((await download.path())!);
    expect(createHash('sha256').update(saved).digest('hex')).toBe(createHash('sha256').update(file).digest('hex'));
    // The opened mail is readable by everyone, at desktop and phone size.
    expect(await auditViewer(carol, 'viewer-2-message')).toEqual([]);
    expect(errors).toEqual([]);
    // The viewer's host drops it: the API behind it never sees a cookie, and the page none —
    // also for requests that do carry the browser's cookies (the page itself omits them).
    expect(await carol.evaluate(() => document.cookie)).toBe('');
    const viewerOrigin = new URL(page).origin;
    const withCookies = await context.request.get(`${viewerOrigin}/api/v1/links/${new URL(page).pathname.split('/')[2]}/pieces/1`, { ignoreHTTPSErrors: true });
    expect(withCookies.status()).toBe(200);
    expect((await context.request.get(`${viewerOrigin}/api/v1/auth/session`, { ignoreHTTPSErrors: true })).status()).toBe(404);
    expect(apiCookies).toEqual([]);
    await context.close();

    // Nothing from the fragment went anywhere: not in a request, a table, or a log line.
    expect(requests.length).toBeGreaterThan(2);
    for (const secret of [password, digest]) expect(requests.join('\n')).not.toContain(secret);
    const dump = await tableDump();
    expect(dump).not.toContain(password);
    expect(dump).not.toContain(passwordHex);
    expect(dump).not.toContain(CANARY);
    expect(logs.join('')).not.toContain(password);
    expect(logs.join('')).not.toContain(CANARY);
    // Nor the link id (half of the capability): logs name the link by a hash of it.
    const linkId = new URL(page).pathname.split('/')[2]!;
    expect(logs.join('')).not.toContain(linkId);
    expect(logs.join('')).toContain(linkLogId(linkId));

    // The sender sees that (and when) the link was opened: scanner and Carol, two visits.
    const [view] = (await a.api.links(sent.entryId)).links;
    expect(view).toMatchObject({ recipient: 'carol@example.org', expired: false, openCount: 2, notice: 'delivered' });
    expect(view!.firstOpenedAt).not.toBeNull();
  });

  it('a wrong fragment is refused in the browser; fetches are rate-limited per link', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const [base, fragment] = link.split('#') as [string, string];
    const [password, digest] = fragment.split('.') as [string, string];
    const other = Buffer.from(password, 'base64url');
    other[0]! ^= 1;
    await page.goto(`${base}#${other.toString('base64url')}.${digest}`);
    await expect.poll(() => page.locator('#state').textContent()).toMatch(/could not be decrypted/);
    expect(await auditViewer(page, 'viewer-3-wrong-link')).toEqual([]);
    await context.close();
    const id = new URL(base).pathname.split('/')[2]!;
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push((await api.inject({ method: 'GET', url: `/api/v1/links/${id}` })).statusCode);
    expect(codes).toContain(429);
    expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(30);
  });

  it('after expiry the public copy is deleted, the link says so, and the Sent copy stays', async () => {
    const copy = await tdb.prisma.mailLink.findFirstOrThrow({ where: { sourceMessageId: sent.messageId } });
    const copyId = copy.messageId!;
    const blobs = await tdb.prisma.blob.count({ where: { messageId: copyId } });
    expect(blobs).toBe(1);
    clock.now = new Date(copy.expiresAt.getTime() + 60_000);
    await until(async () => (await tdb.prisma.mailLink.findUniqueOrThrow({ where: { id: copy.id } })).messageId === null);
    expect(await tdb.prisma.message.count({ where: { id: copyId } })).toBe(0);
    expect(await tdb.prisma.blob.count({ where: { messageId: copyId } })).toBe(0);
    const res = await api.inject({ method: 'GET', url: `/api/v1/links/${copy.id}` });
    expect(res.statusCode).toBe(410);
    expect((res.json() as { error: { code: string } }).error.code).toBe('LINK_EXPIRED');
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(link);
    await expect.poll(() => page.locator('#state').textContent()).toMatch(/expired/);
    await context.close();
    // Alice still reads her Sent copy, and sees the link expired.
    const a = await alice();
    const after = (await a.api.links(sent.entryId)).links[0]!;
    expect(after.expired).toBe(true);
    expect(after.openCount).toBeGreaterThanOrEqual(2); // the visits stay on record
    expect(await tdb.prisma.message.count({ where: { id: sent.messageId } })).toBe(1);
  });
  it('a long unbroken line fits a phone; a file asked for after the sender withdrew the link says so, where the button is', async () => {
    const a = await alice();
    const url = `https://docs.example.org/${'a1b2c3d4e5'.repeat(30)}`;
    const before = mx.received.length;
    const withdrawn = await a.mail.send({
      to: ['dana@example.org'],
      subject: 'Slides',
      text: `Dear Dana, the slides: ${url}\n\n${Array.from({ length: 40 }, (_, i) => `Point ${i + 1}.`).join('\n')}`,
      attachments: [{ name: 'slides.txt', type: 'text/plain', size: 11, stream: () => new Blob(['the slides.']).stream() }],
      links: { expiresIn: '7d' },
    });
    const raw = await until(async () => mx.received.slice(before).find((m) => m.rcpt.includes('dana@example.org'))?.raw, 60_000);
    const notice = await simpleParser(raw);
    const danaLink = /https:\/\/localhost:\d+\/m\/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/.exec(notice.text ?? '')![0];
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 390, height: 844 } });
    const dana = await context.newPage();
    await dana.goto(danaLink);
    await expect.poll(() => dana.locator('#subject').textContent(), { timeout: 30_000 }).toBe('Slides');
    expect(await dana.locator('.text-body').textContent()).toContain(url);
    expect(await auditViewer(dana, 'viewer-4-long-line')).toEqual([]);
    // By keyboard: Enter on the file's button downloads it, and the focus stays on the button.
    const button = dana.getByRole('button', { name: /Download slides\.txt/ });
    await button.focus();
    const [download] = await Promise.all([dana.waitForEvent('download'), dana.keyboard.press('Enter')]);
    expect(await readFile((await download.path())!, 'utf8')).toBe('the slides.');
    await expect.poll(() => button.evaluate((b) => b === document.activeElement && !(b as HTMLButtonElement).disabled)).toBe(true);
    // Alice withdraws the link while Dana has the page open; the file is no longer there, and the page says why.
    const revoked = await api.inject({ method: 'POST', url: `/api/v1/mail/messages/${withdrawn.entryId}/links/revoke`, headers: { authorization: `Bearer ${a.token}` } });
    expect(revoked.json()).toEqual({ revoked: 1 });
    // On a phone the file's button is far below the top of the page: the answer shows where Dana is.
    await dana.getByRole('button', { name: /Download slides\.txt/ }).click();
    const said = dana.getByText('The sender withdrew this link, and the message behind it was deleted.');
    await expect.poll(() => said.count()).toBe(1);
    const seen = await said.evaluate((e) => {
      const r = e.getBoundingClientRect();
      return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
    });
    expect(seen, 'the refusal is in view after pressing the button').toBe(true);
    expect(await said.getAttribute('role')).toBe('alert');
    await context.close();
  });
});
