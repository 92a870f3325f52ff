/**
 * Migration in Chromium on the start command's stack: Bob signs in once (his device makes his
 * keys), an admin opens the console's Import section, uploads an mbox for Bob through the admin
 * host (the file itself, streamed through the host's /api forwarding), watches the import finish
 * with its result report (one message that is not mail, with the reason), and Bob's web client
 * shows the imported mail. Google Groups members become a list. Screenshots of the section at
 * 1280x800 and 390x844 go to e2e/screenshots/ (support.ts); axe-core finds no serious or
 * critical problem there, and the page does not scroll sideways.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { auditSizes, confirmBackupKey, launchChromium, openAdminSection, printedPasswords, screenshotsDir, stackEnvironment, startSealmail, stopSealmail, type Started } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

const MBOX = [
  'From 1@xxx Mon Mar 04 09:15:00 +0000 2019',
  'X-Gmail-Labels: Inbox',
  'Message-ID: <e2e-plans@outside.example>',
  'Date: Mon, 4 Mar 2019 09:15:00 +0000',
  'From: Carol <carol@outside.example>',
  'To: bob@example.test',
  'Subject: Imported plans',
  '',
  '>From the old mailbox.',
  '',
  'From 2@xxx Tue Mar 05 10:00:00 +0000 2019',
  'X-Gmail-Labels: Inbox',
  'Message-ID: <e2e-reply@outside.example>',
  'In-Reply-To: <e2e-plans@outside.example>',
  'Date: Tue, 5 Mar 2019 10:00:00 +0000',
  'From: Carol <carol@outside.example>',
  'To: bob@example.test',
  'Subject: Re: Imported plans',
  '',
  'A reply.',
  '',
  'From 3@xxx Tue Mar 05 10:00:00 +0000 2019',
  'not a mail message',
  '',
].join('\n');

describe('the Import section', () => {
  it("an admin imports Bob's mbox and a Google Groups export; Bob reads the imported mail", async () => {
    // Bob signs in once: his device makes the keys imported mail is sealed to.
    const bobContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const bob = await bobContext.newPage();
    await bob.goto(`https://localhost:${ports.web}/`);
    await bob.getByLabel('E-mail address').fill('bob@example.test');
    await bob.getByLabel('Password').fill(passwords['bob@example.test']!);
    await bob.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(bob);
    await bob.getByRole('navigation', { name: 'Folders' }).waitFor();

    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`https://localhost:${ports.admin}/`);
    await page.getByLabel('Administrator address').fill('admin@example.test');
    await page.getByLabel('Password').fill(passwords['admin@example.test']!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    await openAdminSection(page, 'Import');
    const mail = page.getByRole('region', { name: 'Import mail' });
    await mail.getByText('No imports yet.').waitFor();
    const problems = await auditSizes(page, 'admin-import-1-empty');

    await mail.getByLabel('User’s address').fill('bob@example.test');
    await mail.getByLabel('File').setInputFiles({ name: 'All mail Including Spam and Trash.mbox', mimeType: 'application/mbox', buffer: Buffer.from(MBOX) });
    await mail.getByRole('button', { name: 'Upload and import' }).click();
    const row = mail.getByRole('row').filter({ hasText: 'All mail Including Spam and Trash.mbox' });
    await row.getByText('2 imported, 0 already there, 1 failed').waitFor({ timeout: 60_000 });
    await row.getByText('Done', { exact: true }).waitFor();
    await row.getByText('Why one message failed').click();
    await row.getByText(/message 3 \(byte \d+\): not a mail message/).waitFor();

    // Google Groups: a member export becomes a list.
    const groups = page.getByRole('region', { name: 'Import Google Groups' });
    await groups.getByLabel('Members CSV').setInputFiles({ name: 'members.csv', mimeType: 'text/csv', buffer: Buffer.from('Email address,Nickname,Group status\nalice@example.test,,member\ncarol@outside.example,,member\n') });
    await groups.getByLabel(/List address/).fill('team@example.test');
    await groups.getByRole('button', { name: 'Import members' }).click();
    await groups.getByRole('status').getByText('team@example.test: list made, 2 added, 0 already members').waitFor();
    problems.push(...(await auditSizes(page, 'admin-import-2-done')));

    // Bob's web client shows the imported mail (sealed to his key, opened on his device).
    await bob.reload();
    await bob.getByRole('navigation', { name: 'Folders' }).waitFor();
    await bob.getByText(/Imported plans/).first().waitFor({ timeout: 30_000 });
    await bob.screenshot({ path: join(screenshotsDir, 'admin-import-3-bob-inbox-1280x800.png') });
    expect(problems).toEqual([]);
    await context.close();
    await bobContext.close();
  });
});
