/**
 * The admin console's Mail activity, Change history and Reports sections in Chromium on the start
 * command's stack, at 1280×800 and 390×844 (and no sideways scrolling at 360 px), each checked
 * with axe-core (no serious or critical violation). Mail arrives from outside over real SMTP
 * (STARTTLS on loopback) and is traced; a metadata search is made and then seen in the change
 * history; Verify reports the chain intact. Screenshots go to e2e/screenshots/ (git-ignored) or
 * SEALMAIL_SCREENSHOTS.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { Browser, Page } from 'playwright-core';
import { confirmBackupKey, launchChromium, openAdminSection, printedPasswords, repoRoot, stackEnvironment, startSealmail, stopSealmail, type Started } from './support';

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// eslint-disable-next-line sealmail/no-process-env -- where this test run writes its screenshots, not server configuration
const shots = process.env.SEALMAIL_SCREENSHOTS || join(repoRoot, 'e2e', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SMALL_PHONE = { width: 360, height: 740 };
type Size = typeof DESKTOP;
const ADMIN = 'admin@example.test';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function axeProblems(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const result = (await page.evaluate(() => (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<unknown> } }).axe.run(document, { resultTypes: ['violations'] }))) as {
    violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.failureSummary?.replace(/\n/g, ' ') ?? ''}`).join('\n')}`);
}

const settle = (page: Page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const widths = (page: Page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));

/** A screenshot at each size, axe, and no sideways scrolling (at 360 px too). */
async function bothSizes(page: Page, name: string) {
  for (const size of [DESKTOP, PHONE] as Size[]) {
    await page.setViewportSize(size);
    await settle(page);
    const label = `${name}-${size.width}x${size.height}`;
    await page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
    const w = await widths(page);
    if (w.scroll > w.inner) problems.push(`${label}: ${w.scroll} px wide in a ${w.inner} px window`);
    for (const p of await axeProblems(page)) problems.push(`${label}: ${p}`);
  }
  await page.setViewportSize(SMALL_PHONE);
  await settle(page);
  const narrow = await widths(page);
  if (narrow.scroll > narrow.inner) problems.push(`${name}-360: ${narrow.scroll} px wide in a ${narrow.inner} px window`);
  await page.setViewportSize(DESKTOP);
  await settle(page);
}

async function mailFromOutside(to: string, subject: string) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ports.smtp, secure: false, requireTLS: true, tls: { ca: await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8'), servername: 'localhost' } });
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
