/**
 * The IT person's escrow afternoon, in Chromium against the start command's stack: mail over
 * SMTP for a user who never signed in is accepted (250) and, once she sets up her first device,
 * is in her inbox labelled "Server Encrypted" (held, then re-sealed by the queue job). The admin
 * turns escrow on in the console, designates a second escrow admin, and exports the user's mail
 * for a case: the mbox is made in the browser and holds the matching message, decrypted.
 * Screenshots of the Escrow & discovery section at desktop and phone size, with the axe audit and
 * the width check. DNS for SPF/DKIM of the outside sender is the system's (nothing answers it).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, launchChromium, openAdminSection, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const errors: string[] = [];

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function profile(port: number): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${port}/`);
  return { context, page };
}

async function smtp(subject: string, text: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  return transport.sendMail({ from: '"Vera Vendor" <vera@vendor.example>', to: ALICE, subject, text });
}

describe('escrow & discovery in the console', () => {
  it('held mail reaches a new user; several escrow admins; an eDiscovery export made in the browser', { timeout: 300_000 }, async () => {
    // Before Alice ever signed in: accepted, not deferred.
    expect((await smtp('Welcome pack', 'Read this before your first day.')).response).toMatch(/^250 /);

    // The admin console: sign in (a device of the admin), turn escrow on.
    const admin = await profile(ports.admin);
    await admin.page.getByLabel('Administrator address').fill('admin@example.test');
    await admin.page.getByLabel('Password').fill(passwords['admin@example.test']!);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(admin.page);
    await openAdminSection(admin.page, 'Escrow & discovery');
    const key = admin.page.getByRole('region', { name: 'Escrow', exact: true });
    await key.getByRole('button', { name: 'Turn on escrow' }).click();
    await key.getByRole('status').getByText('Escrow is on.').waitFor({ timeout: 60_000 });

    // Alice's first sign-in: her keys, the escrow notice; the held mail is in her inbox.
    const alice = await profile(ports.web);
    await alice.page.getByLabel('E-mail address').fill(ALICE);
    await alice.page.getByLabel('Password').fill(passwords[ALICE]!);
    await alice.page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(alice.page);
    await alice.page.getByRole('button', { name: 'I understand — add it' }).click();
    const held = alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Welcome pack/ });
    await held.waitFor({ timeout: 60_000 });
    await expect(held.getByText('Server Encrypted').count()).resolves.toBe(1);
    expect((await smtp('Quarterly figures', 'The quarterly numbers are attached in spirit.')).response).toMatch(/^250 /);
    expect((await smtp('Team lunch', 'Pizza?')).response).toMatch(/^250 /);

    // A second escrow admin (Bob, a plain user until now).
    const holders = admin.page.getByRole('region', { name: 'Key holders' });
    await holders.getByLabel('Designate an escrow admin (address)').fill('bob@example.test');
    await holders.getByRole('button', { name: 'Designate' }).click();
    await holders.getByRole('status').getByText('bob@example.test is now an escrow admin').waitFor();
    await holders.getByRole('row', { name: 'Escrow admin bob@example.test' }).waitFor();

    // Discovery: Alice's mail of today, the term "quarterly", a case reference.
    const today = new Date().toISOString().slice(0, 10);
    const discovery = admin.page.getByRole('region', { name: 'Discovery export' });
    await discovery.getByLabel('User (address)').fill(ALICE);
    await discovery.getByLabel('First day (UTC)').fill(today);
    await discovery.getByLabel('Last day (UTC, included)').fill(today);
    await discovery.getByLabel('Search terms').fill('quarterly');
    await discovery.getByLabel('Case reference').fill('CASE-E2E-1');
    await discovery.getByRole('button', { name: 'Export' }).click();
    const done = discovery.getByRole('status');
    await done.getByText(/^1 of \d message\(s\) of alice@example\.test in the range matched \(case “CASE-E2E-1”\)\.$/).waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([admin.page.waitForEvent('download'), done.getByRole('button', { name: 'Save the mbox' }).click()]);
    const mbox = await readFile((await download.path())!);
    expect(mbox.toString('latin1')).toMatch(/^From vera@vendor\.example /);
    expect(mbox.toString('latin1')).toContain('Subject: Quarterly figures');
    expect(mbox.toString('latin1')).not.toContain('Team lunch');
    const [manifestFile] = await Promise.all([admin.page.waitForEvent('download'), done.getByRole('button', { name: 'Save the manifest' }).click()]);
    const manifest = JSON.parse(await readFile((await manifestFile.path())!, 'utf8')) as { mbox: { sha256: string }; messages: { subject: string }[] };
    expect(manifest.mbox.sha256).toBe(createHash('sha256').update(mbox).digest('hex'));
    expect(manifest.messages.map((m) => m.subject)).toEqual(['Quarterly figures']);

    expect(await auditSizes(admin.page, 'admin-escrow')).toEqual([]);
    expect(errors).toEqual([]);
    await admin.context.close();
    await alice.context.close();
  });
});
