/**
 * The README's start command, end to end: it starts its own Postgres, migrates, seeds, builds the
 * three front ends and serves everything over TLS; Chromium finds each app's first screen;
 * Ctrl-C stops everything; a second start reuses the data.
 */
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { confirmBackupKey, openAdminSection, launchChromium, portOpen, printedPasswords, stackEnvironment, startSealmail, type Started, openSettings, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();

let running: Started | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

function getJson(port: number, path: string, ca: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function stop(s: Started) {
  s.proc.kill('SIGINT');
  const code = await s.exited;
  expect(code).toBe(0);
  expect(s.output()).toContain('[sealmail] Postgres stopped');
  for (const p of Object.values(ports)) expect(await portOpen(p), `port ${p} still open`).toBe(false);
  // No stray processes: the children held the ports checked above; Postgres runs with `-D <dataDir>/pg`.
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  expect(ps.split('\n').filter((l) => l.includes(dataDir))).toEqual([]);
}

let firstPasswords: Record<string, string> = {};

describe('the start command', () => {
  it('brings everything up over TLS, prints it, and the apps show their first screens', async () => {
    running = await startSealmail(env);
    const out = running.output();
    for (const p of [ports.web, ports.admin, ports.viewer, ports.api]) expect(out).toContain(`https://localhost:${p}`);
    expect(out).toContain(`localhost:${ports.smtp} (STARTTLS)`);
    expect(out).toMatch(/SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(out).toMatch(/admin@example\.test\s+admin\s+password: \S{12,}/);
    expect(out).toMatch(/alice@example\.test\s+user\s+password: \S{12,}/);
    expect(out).toMatch(/bob@example\.test\s+user\s+password: \S{12,}/);
    firstPasswords = printedPasswords(out);
    expect(Object.keys(firstPasswords)).toHaveLength(3);

    // The API answers over TLS with the printed certificate, and its database is ready.
    const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    expect(await getJson(ports.api, '/readyz', ca)).toEqual({ status: 200, body: { status: 'ready' } });
    // Anonymous callers learn nothing about the organisations here.
    expect((await getJson(ports.web, '/api/v1/info', ca)).body).toEqual({ service: 'sealmail', version: expect.any(String) });

    browser = await launchChromium();
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const pw = firstPasswords;
    const web = await page.goto(`https://localhost:${ports.web}/`);
    expect(web?.headers()['content-security-policy']).toContain("default-src 'none'");
    await page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor();
    // The sign-in page names no organisation (the server tells anonymous callers none).
    await page.getByText('Encrypted mail for this organisation').waitFor();
    await page.getByLabel('E-mail address').fill('alice@example.test');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The address or password is wrong.').waitFor();
    await page.getByLabel('Password').fill(pw['alice@example.test']!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Alice's first device: her keys are made in the browser and she is shown her backup key.
    await page.getByRole('heading', { name: 'Save your backup key' }).waitFor();
    const backupKey = await page.getByLabel('Backup key', { exact: true }).textContent();
    // The session cookie is HttpOnly: page scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await context.cookies(`https://localhost:${ports.web}/api/v1/auth/session`);
    expect(cookies.find((c) => c.name === '__Host-sealmail-web')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    // A reload keeps the session, and the same backup key is shown until it is confirmed.
    await page.reload();
    await page.getByRole('heading', { name: 'Save your backup key' }).waitFor();
    expect(await page.getByLabel('Backup key', { exact: true }).textContent()).toBe(backupKey);
    const groups = backupKey!.split('-');
    await page.getByLabel('Group 3 of your backup key').fill(groups[2]!.toLowerCase());
    await page.getByLabel('Group 7 of your backup key').fill(groups[6]!);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await openSettings(page, 'Alice Example');
    await page.getByText('Key generations on this device: 1').waitFor();
    await page.reload();
    await openSettings(page, 'Alice Example');
    await page.getByRole('region', { name: 'Devices' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor();

    await page.goto(`https://localhost:${ports.admin}/`);
    await page.getByRole('heading', { name: 'Sealmail admin console' }).waitFor();
    // Before sign-in the console shows the server's status, but no organisation's domains.
    await page.getByRole('region', { name: 'Server status' }).getByText('Version').waitFor();
    expect(await page.getByRole('region', { name: 'Server status' }).textContent()).not.toContain('example.test');
    await page.getByLabel('Administrator address').fill('admin@example.test');
    await page.getByLabel('Password').fill(pw['admin@example.test']!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The console is a device of the admin: its keys are set up like any other device's.
    await confirmBackupKey(page);
    await openAdminSection(page, 'Security');
    await page.getByRole('heading', { name: 'Security' }).waitFor();
    await page.getByText('Authenticator optional for everyone.').waitFor();
    // An admin without an authenticator app of their own cannot require one (it would shut
    // their own console out at the next request): the console says what to do first.
    await page.getByLabel('Require an authenticator app (TOTP) for every user').click();
    await page.getByRole('alert').getByText('Set up your own authenticator app first').waitFor();
    expect(await page.getByLabel('Require an authenticator app (TOTP) for every user').isChecked()).toBe(false);
    await page.getByText('Authenticator optional for everyone.').waitFor();
    // Mail settings: the domain's encryption policy is chosen once, and the outbound queue is empty.
    await openAdminSection(page, 'Domains');
    page.once('dialog', (d) => void d.accept());
    await page.getByLabel('Encryption policy for example.test').selectOption('secure_default');
    await page.getByRole('status').getByText('Encryption policy of example.test: Secure by default').waitFor();
    await expect.poll(() => page.getByLabel('Encryption policy for example.test').count()).toBe(0); // no longer a choice
    await openAdminSection(page, 'Mail flow');
    await page.getByRole('region', { name: 'Outbound queue' }).getByText('Nothing here.').waitFor();

    const viewer = await page.goto(`https://localhost:${ports.viewer}/m/abcdefgh12345678#${'p'.repeat(22)}.${'d'.repeat(43)}`);
    expect(viewer?.headers()['referrer-policy']).toBe('no-referrer');
    await page.getByRole('heading', { name: 'Secure message' }).waitFor();
    await page.getByText('This message does not exist or has expired.').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    expect(errors).toEqual([]);
    await context.close();

    await stop(running);
  });

  it('reuses the data on a second start, and restarts a service process that dies while the rest keeps running', async () => {
    running = await startSealmail(env);
    const out = running.output();
    expect(out).toContain('Migrations      up to date');
    expect(out).not.toContain('(new)');
    expect(printedPasswords(out)).toEqual(firstPasswords);

    // kill -9 of the SMTP process: the supervisor starts a new one; the API never stopped.
    const pid = Number(/\[sealmail\] smtp started \(pid (\d+)\)/.exec(out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    await expect.poll(() => running!.output(), { timeout: 30_000 }).toMatch(/\[sealmail\] smtp exited \(SIGKILL\); restarting in 1 s/);
    expect(await getJson(ports.api, '/readyz', ca)).toEqual({ status: 200, body: { status: 'ready' } });
    await expect.poll(() => [...running!.output().matchAll(/\[sealmail\] smtp started \(pid (\d+)\)/g)].length, { timeout: 30_000 }).toBe(2);
    await expect.poll(() => portOpen(ports.smtp), { timeout: 60_000 }).toBe(true);
    expect(running.output()).not.toContain('stopping…');
    await stop(running);
  }, 180_000);
});
