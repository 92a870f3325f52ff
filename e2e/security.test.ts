/**
 * Account security in Chromium on the start command's stack: a user enrols an authenticator app
 * in the web client (QR code and the secret as text; the test computes codes from the secret on
 * screen with otpauth, as an app would), gets recovery codes, and the next sign-in requires a
 * code; the Sessions section lists and ends sessions; an admin is asked for the password again
 * before a sensitive change once the last proof is older than 5 minutes; a reset password is
 * replaced first; a TOTP requirement that comes mid-session leads to enrolment, not lockout. Screenshots of the new
 * screens at 1280x800 and 390x844 are written to <tmpdir>/sealmail-e2e-screenshots for review.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Secret, TOTP } from 'otpauth';
import { createDb } from '@sealmail/db';
import { confirmBackupKey, openAdminSection, launchChromium, openSettings, printedPasswords, stackEnvironment, startSealmail, type Started, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
const shots = join(tmpdir(), 'sealmail-e2e-screenshots');
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const ADMIN = 'admin@example.test';
const BOB = 'bob@example.test';

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
  await mkdir(shots, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function device(port = ports.web, viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const page = await context.newPage();
  await page.goto(`https://localhost:${port}/`);
  return { context, page };
}

async function signIn(page: Page, address: string, password = passwords[address]!) {
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Screenshots at desktop and phone size (the same page, resized). */
async function shoot(page: Page, name: string) {
  for (const [w, h] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    await page.screenshot({ path: join(shots, `${name}-${w}x${h}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

describe('account security in the web client', () => {
  it('enrols an authenticator app; the next sign-in requires its code; sessions can be ended', async () => {
    const a = await device();
    await signIn(a.page, ALICE);
    await confirmBackupKey(a.page);
    await openSettings(a.page, 'Alice Example');

    // Sessions: this one is listed and marked.
    const sessions = a.page.getByRole('region', { name: 'Sessions' });
    await sessions.getByRole('row').filter({ hasText: 'this session' }).waitFor();

    // A second browser signs in with the password only (it waits for approval): listed, then signed out.
    const b = await device();
    await signIn(b.page, ALICE);
    await b.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    await a.page.reload();
    await openSettings(a.page, 'Alice Example');
    await expect.poll(() => sessions.getByRole('row').count()).toBe(3); // header + 2
    await shoot(a.page, 'settings-sessions');
    await sessions.getByRole('button', { name: 'End all other sessions' }).click();
    await sessions.getByRole('status').getByText('Signed out 1 other session.').waitFor();
    await expect.poll(() => sessions.getByRole('row').count()).toBe(2);

    // The password form says what to fix.
    const password = a.page.getByRole('region', { name: 'Password' });
    await password.getByLabel('Current password').fill('not my password');
    await password.getByLabel('New password (at least 12 characters)').fill('a new password for alice');
    await password.getByLabel('New password again').fill('a new password for alice');
    await password.getByRole('button', { name: 'Change password' }).click();
    await password.getByRole('alert').getByText('Your current password is not right').waitFor();

    // Authenticator: set up, with the secret read off the screen.
    const totpSection = a.page.getByRole('region', { name: 'Authenticator app' });
    await totpSection.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const setup = a.page.getByRole('region', { name: 'Set up an authenticator app' });
    await setup.getByRole('img', { name: 'QR code of your authenticator secret' }).waitFor();
    const secret = (await setup.getByLabel('Authenticator secret').textContent())!.replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await shoot(a.page, 'settings-totp-setup');
    await setup.getByLabel('6-digit code from the app').fill(totp.generate() === '000000' ? '111111' : '000000');
    await setup.getByRole('button', { name: 'Confirm' }).click();
    await setup.getByRole('alert').getByText('That code is not right').waitFor();
    await setup.getByLabel('6-digit code from the app').fill(totp.generate());
    await setup.getByRole('button', { name: 'Confirm' }).click();
    const codes = a.page.getByRole('list', { name: 'Recovery codes' });
    await expect.poll(() => codes.getByRole('listitem').count()).toBe(10);
    await shoot(a.page, 'settings-recovery-codes');
    await a.page.getByRole('button', { name: 'I have saved them' }).click();
    await a.page.getByRole('region', { name: 'Authenticator app' }).getByText('On: signing in needs a code').waitFor();

    // Sign out; signing in again needs the code (the next time step's: the one used to confirm is spent).
    await a.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signIn(a.page, ALICE);
    await a.page.getByLabel('Authenticator code').waitFor();
    await a.page.getByRole('alert').getByText('Enter the code from your authenticator app.').waitFor();
    await shoot(a.page, 'sign-in-totp');
    await a.page.getByLabel('Authenticator code').fill('123456' === totp.generate({ timestamp: Date.now() + 30_000 }) ? '654321' : '123456');
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await a.page.getByRole('alert').getByText('That code is not right or was already used').waitFor();
    await a.page.getByLabel('Authenticator code').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await openSettings(a.page, 'Alice Example');
    const on = a.page.getByRole('region', { name: 'Authenticator app' });
    await on.getByText('On: signing in needs a code').waitFor();
    // Removing it needs a code or the password; a wrong password is refused with the reason.
    const removal = on.getByRole('form', { name: 'Remove authenticator' });
    await removal.getByLabel('or your password').fill('not my password');
    await removal.getByRole('button', { name: 'Remove authenticator app' }).click();
    await on.getByRole('alert').getByText('That password is wrong. Type it again.').waitFor();
    await removal.getByLabel('or your password').fill(passwords[ALICE]!);
    await removal.getByRole('button', { name: 'Remove authenticator app' }).click();
    await a.page.getByRole('region', { name: 'Authenticator app' }).getByText('Off.').waitFor();
    await a.context.close();
    await b.context.close();
  });

  it('the admin console asks for the password again before a sensitive change once the last proof is old', async () => {
    const admin = await device(ports.admin);
    await admin.page.getByLabel('Administrator address').fill(ADMIN);
    await admin.page.getByLabel('Password').fill(passwords[ADMIN]!);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(admin.page);
    await openAdminSection(admin.page, 'Security');
    const security = admin.page.getByRole('region', { name: 'Security' });
    await security.getByRole('button', { name: 'Reset password' }).waitFor();
    // Time passes: the sign-in no longer counts as a fresh proof.
    const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
    const db = createDb(url);
    try {
      await db.session.updateMany({ where: { user: { localPart: 'admin' } }, data: { reauthAt: new Date(Date.now() - 10 * 60_000) } });
    } finally {
      await db.$disconnect();
    }
    await security.getByLabel('Reset the password of (e-mail address)').fill(BOB);
    await security.getByRole('button', { name: 'Reset password' }).click();
    const dialog = admin.page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByLabel('Password').waitFor();
    await shoot(admin.page, 'admin-reauth');
    await dialog.getByLabel('Password').fill('wrong password');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('alert').getByText('That password is not right').waitFor();
    await dialog.getByLabel('Password').fill(passwords[ADMIN]!);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    const temporary = (await security.getByLabel('Temporary password').textContent())!;
    expect(temporary.length).toBeGreaterThanOrEqual(20);
    await expect(dialog.count()).resolves.toBe(0);

    // Bob signs in with it and must choose his own password first.
    const bob = await device();
    await signIn(bob.page, BOB, temporary);
    const choose = bob.page.getByRole('region', { name: 'Choose a new password' });
    await choose.getByLabel('Temporary password').fill(temporary);
    await choose.getByLabel('New password (at least 12 characters)').fill('bob chose this one');
    await choose.getByLabel('New password again').fill('bob chose this one');
    await shoot(bob.page, 'forced-password-change');
    await choose.getByRole('button', { name: 'Change password' }).click();
    await confirmBackupKey(bob.page);
    await openSettings(bob.page, 'Bob Example');

    // The organisation starts requiring TOTP while Bob is signed in: at his next request the web
    // client shows the enrolment (not a lockout), and after it his mailbox.
    const db2 = createDb(url);
    try {
      await db2.account.updateMany({ data: { requireTotp: true } });
      // (The settings page refreshes its device list every few seconds: that is the next request.)
      // The enrolment screen replaces Settings (whose sections may also say so for a moment).
      await bob.page.getByRole('heading', { name: 'Signed in as Bob Example', level: 1 }).waitFor();
      await bob.page.locator('main.signin').getByText('Your organisation requires an authenticator app').waitFor();
      await bob.page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      const bobSecret = (await bob.page.getByLabel('Authenticator secret').textContent())!.replace(/\s/g, '');
      await bob.page.getByLabel('6-digit code from the app').fill(new TOTP({ secret: Secret.fromBase32(bobSecret) }).generate());
      await bob.page.getByRole('button', { name: 'Confirm' }).click();
      await bob.page.getByRole('button', { name: 'I have saved them' }).click();
      await openSettings(bob.page, 'Bob Example');
      await bob.page.getByRole('region', { name: 'Authenticator app' }).getByText('On: signing in needs a code').waitFor();
    } finally {
      await db2.account.updateMany({ data: { requireTotp: false } });
      await db2.$disconnect();
    }
    await admin.context.close();
    await bob.context.close();
  });
});
