/**
 * The admin console's Mail activity, Change history and Reports sections in Chromium on the start
 * command's stack, at 1280×800 and 390×844 (and no sideways scrolling at 360 px), each checked
 * with axe-core (no serious or critical violation). Mail arrives from outside over real SMTP
 * (STARTTLS on loopback) and is traced; a metadata search is made and then seen in the change
 * history; Verify reports the chain intact. Screenshots go to e2e/screenshots/ (git-ignored) or
 * SEALMAIL_SCREENSHOTS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, DESKTOP, launchChromium, openAdminSection, PHONE, printedPasswords, SMALL_PHONE, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const ADMIN = 'admin@example.test';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

/** A screenshot at each size, axe, and no sideways scrolling (at 360 px too; support.ts). */
async function bothSizes(page: Page, name: string) {
  problems.push(...(await auditSizes(page, name, [DESKTOP, PHONE, SMALL_PHONE])));
}

async function mailFromOutside(to: string, subject: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to, subject, text: 'The body the console must never show.' });
  transport.close();
}

describe('admin console: mail activity, change history, reports', () => {
  it('traces mail that came in over SMTP, records a metadata search, verifies the chain, and draws the reports', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`https://localhost:${ports.admin}/`);
    await page.getByLabel('Administrator address').fill(ADMIN);
    await page.getByLabel('Password').fill(passwords[ADMIN]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);

    // The admin's own mailbox has keys now: mail from outside arrives over SMTP.
    await mailFromOutside(ADMIN, 'Invoice with a secret subject');

    await openAdminSection(page, 'Mail activity');
    const trace = page.getByRole('region', { name: 'Message trace' });
    await trace.getByLabel('Sender').fill('erin@outside.example');
    await trace.getByRole('button', { name: 'Trace' }).click();
    const found = trace.getByRole('article', { name: /^Message from erin@outside\.example/ });
    await found.waitFor({ timeout: 30_000 });
    expect(await found.getByRole('heading').textContent()).toBe('Received from outside: erin@outside.example → admin@example.test');
    expect(await found.textContent()).toContain('Over SMTP from outside');
    expect(await found.textContent()).toContain('admin@example.test (to), filed in inbox');
    expect(await page.content()).not.toContain('secret subject');

    const search = page.getByRole('region', { name: 'Metadata search' });
    await search.getByLabel('Address or domain contains').fill('outside.example');
    await search.getByRole('button', { name: 'Search' }).click();
    await search.getByRole('cell', { name: 'erin@outside.example' }).waitFor();
    await bothSizes(page, 'admin-history-1-mail-activity');

    await openAdminSection(page, 'Change history');
    const history = page.getByRole('region', { name: 'Change history' });
    await history.getByRole('cell', { name: 'admin.metadata_search' }).first().waitFor();
    expect(await history.getByRole('row').filter({ hasText: 'admin.metadata_search' }).first().textContent()).toContain('outside.example');
    await history.getByRole('button', { name: 'Verify the chain' }).click();
    const ok = history.getByRole('status').filter({ hasText: 'Chain intact.' });
    await ok.waitFor();
    expect(await ok.textContent()).toMatch(/\d+ entries checked; newest is #\d+, hash [0-9a-f]{64}/);
    await history.getByLabel('Action').fill('auth.');
    await history.getByRole('button', { name: 'Show' }).click();
    await history.getByRole('cell', { name: 'admin.metadata_search' }).waitFor({ state: 'detached' });
    expect(await history.getByRole('link', { name: 'CSV' }).getAttribute('href')).toBe('/api/v1/admin/history/export?action=auth.&format=csv');
    await bothSizes(page, 'admin-history-2-change-history');

    await openAdminSection(page, 'Reports');
    const reports = page.getByRole('region', { name: 'Reports' });
    const volume = reports.getByRole('img', { name: /^Mail per day: \d+ received and \d+ sent in 30 days$/ });
    await volume.waitFor();
    expect(await volume.getAttribute('aria-label')).toMatch(/: [1-9]\d* received/);
    await reports.getByText('Show the numbers as a table').first().click();
    await reports.getByRole('table', { name: 'Mail per day' }).waitFor();
    await reports.getByRole('img', { name: /^Storage per user: largest: / }).waitFor();
    await bothSizes(page, 'admin-history-3-reports');
    await reports.getByRole('button', { name: 'Last 7 days' }).click();
    await reports.getByRole('img', { name: /in 7 days$/ }).first().waitFor();

    await context.close();
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
  });
});
