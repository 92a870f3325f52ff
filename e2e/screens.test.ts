/**
 * Every main screen at desktop (1280×800) and phone (390×844) size, in Chromium, on the start
 * command's stack: the web client (sign-in, backup key, pending device, escrow notice, mailbox,
 * reader, compose, settings with devices), the admin console (sign-in, signed in) and the link viewer.
 * On each screen, at each size: axe-core (run inside the page) finds no serious or critical
 * violation, and the page does not scroll sideways (at 360 px wide too). On a phone the mailbox
 * shows one pane at a time (folders behind a menu, list, then the message with a Back control)
 * and compose fills the screen.
 *
 * Screenshots of each screen at both sizes go to e2e/screenshots/ (git-ignored), or to the folder
 * named by SEALMAIL_SCREENSHOTS, so anyone can see what the product looks like.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { axeProblems, confirmBackupKey, DESKTOP, launchChromium, openAdminSection, PHONE, printedPasswords, screenshotsDir, settle, sidewaysProblem, type Size, SMALL_PHONE, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const shots = screenshotsDir;

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const ALICE = 'alice@example.test';

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

async function profile(url: string, size: Size = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: size });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { context, page };
}

/**
 * One screen at one size: a screenshot, then the audit and the width check. Problems are
 * gathered (not thrown) so one run reports every screen.
 */
const problems: string[] = [];
async function check(page: Page, name: string, size: Size) {
  await page.setViewportSize(size);
  // Let layout settle after a resize (two frames), without relying on time.
  await settle(page);
  const label = `${name}-${size.width}x${size.height}`;
  await page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
  const wide = await sidewaysProblem(page);
  if (wide) problems.push(`${label}: ${wide}`);
  for (const p of await axeProblems(page)) problems.push(`${label}: ${p}`);
  if (size !== PHONE) return;
  // The narrowest phone the layouts are made for: the width is checked there too.
  await page.setViewportSize(SMALL_PHONE);
  await settle(page);
  const narrow = await sidewaysProblem(page);
  if (narrow) problems.push(`${name}-360: ${narrow}`);
  await page.setViewportSize(PHONE);
}
async function bothSizes(page: Page, name: string) {
  await check(page, name, DESKTOP);
  await check(page, name, PHONE);
  await page.setViewportSize(DESKTOP);
}

/** The first Tab stop shows the project's focus ring (a solid outline), not the browser's default. */
async function expectFocusRing(page: Page) {
  await page.keyboard.press('Tab');
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement!);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  expect(ring.style).toBe('solid');
  expect(ring.width).toBeGreaterThanOrEqual(2);
}

async function signIn(page: Page, address: string) {
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function mailFromOutside(to: string, subject: string, text: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to, subject, text });
  transport.close();
}

describe('screens at desktop and phone size', () => {
  it('web client: sign-in, backup key, pending device, mailbox, reader, compose, settings with devices', async () => {
    const a = await profile(`https://localhost:${ports.web}/`);
    await a.page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor();
    await bothSizes(a.page, 'web-1-sign-in');
    await expectFocusRing(a.page);

    await signIn(a.page, ALICE);
    await a.page.getByRole('heading', { name: 'Save your backup key' }).waitFor();
    await bothSizes(a.page, 'web-2-backup-key');
    await confirmBackupKey(a.page);
    await a.page.getByRole('navigation', { name: 'Folders' }).waitFor();

    // Mail to read: a long subject and an unbroken line, which must not widen a phone screen.
    await mailFromOutside(ALICE, 'Quarterly planning for the whole team, with a subject long enough to wrap on a phone', `Hello Alice,\n\nthe agenda is attached below.\n\nhttps://example.invalid/${'a-very-long-path-segment-'.repeat(6)}\n\nErin`);
    const messages = a.page.getByRole('region', { name: 'Messages' });
    const row = messages.getByRole('button', { name: /Quarterly planning/ });
    await row.waitFor({ timeout: 30_000 });
    await bothSizes(a.page, 'web-3-mailbox');

    // On a phone the folders sit behind a menu button; the list is the page.
    await a.page.setViewportSize(PHONE);
    expect(await a.page.getByRole('navigation', { name: 'Folders' }).isVisible()).toBe(false);
    await a.page.getByRole('button', { name: 'Folders' }).click();
    await a.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Inbox' }).waitFor();
    await check(a.page, 'web-3-mailbox-folders-menu', PHONE);
    // A tap beside the menu closes it; choosing a folder does too.
    await a.page.mouse.click(PHONE.width - 20, PHONE.height / 2);
    expect(await a.page.getByRole('navigation', { name: 'Folders' }).isVisible()).toBe(false);
    await a.page.getByRole('button', { name: 'Folders' }).click();
    await a.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Inbox' }).click();
    expect(await a.page.getByRole('navigation', { name: 'Folders' }).isVisible()).toBe(false);

    // The reader: on a phone it replaces the list, with a Back control that returns to it.
    await row.click();
    const article = a.page.getByRole('article', { name: 'Message from erin@outside.example' });
    await article.waitFor();
    expect(await messages.isVisible()).toBe(false);
    const back = a.page.getByRole('button', { name: 'Back to the list' });
    expect(await back.isVisible()).toBe(true);
    // Keyboard users land on Back, and Back returns them to the row they opened.
    const focused = (l: typeof back) => l.evaluate((el) => el === document.activeElement);
    await expect.poll(() => focused(back)).toBe(true);
    await check(a.page, 'web-4-reader', PHONE);
    await a.page.keyboard.press('Enter');
    await row.waitFor();
    await expect.poll(() => focused(row)).toBe(true);
    expect(await article.isVisible()).toBe(false);
    await row.click();
    await article.waitFor();
    await check(a.page, 'web-4-reader', DESKTOP);
    // At desktop size all three panes show at once, and there is no Back control.
    expect(await messages.isVisible()).toBe(true);
    expect(await a.page.getByRole('navigation', { name: 'Folders' }).isVisible()).toBe(true);
    expect(await back.isVisible()).toBe(false);

    // Compose: a window at the corner on a desktop, the whole screen on a phone.
    await a.page.getByRole('button', { name: 'Compose' }).first().click();
    const compose = a.page.getByRole('dialog', { name: 'Compose' });
    await compose.waitFor();
    await bothSizes(a.page, 'web-5-compose');
    await a.page.setViewportSize(PHONE);
    const box = (await compose.boundingBox())!;
    expect(box.x).toBe(0);
    expect(box.width).toBe(PHONE.width);
    await compose.getByRole('button', { name: 'Close' }).click();

    // Settings (devices among them), reached through the account menu on a phone.
    await a.page.getByRole('button', { name: 'Account: Alice Example' }).click();
    await a.page.getByRole('menuitem', { name: 'Settings' }).click();
    await a.page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await a.page.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: '(this device)' }).getByRole('cell', { name: 'approved', exact: true }).waitFor();

    // A second device of Alice's: the pending step; it also shows as a row to approve.
    const b = await profile(`https://localhost:${ports.web}/`);
    await signIn(b.page, ALICE);
    await b.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    await bothSizes(b.page, 'web-6-pending-device');
    const fp = (await b.page.getByLabel("This device's fingerprint").textContent())!;
    // On a phone the devices table turns into stacked rows that still read as a table.
    await a.page.setViewportSize(PHONE);
    const pendingRow = a.page.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: fp });
    await pendingRow.getByRole('cell', { name: 'pending', exact: true }).waitFor({ timeout: 15_000 });
    await bothSizes(a.page, 'web-7-settings-devices');
    await a.page.setViewportSize(PHONE);
    await pendingRow.getByRole('button', { name: 'Approve' }).click();
    await pendingRow.getByRole('cell', { name: 'approved', exact: true }).waitFor();
    await b.page.getByRole('button', { name: 'I approved it' }).click();
    await b.page.getByRole('navigation', { name: 'Folders' }).waitFor();

    for (const d of [a, b]) await d.context.close();
    expect(errors).toEqual([]);
  });

  it('admin console: sign-in and the signed-in page; the escrow notice in the web client', async () => {
    const admin = await profile(`https://localhost:${ports.admin}/`);
    await admin.page.getByLabel('Administrator address').waitFor();
    await bothSizes(admin.page, 'admin-1-sign-in');
    await expectFocusRing(admin.page);
    await admin.page.getByLabel('Administrator address').fill('admin@example.test');
    await admin.page.getByLabel('Password').fill(passwords['admin@example.test']!);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(admin.page);
    await openAdminSection(admin.page, 'Escrow & discovery');
    await admin.page.getByRole('region', { name: 'Escrow' }).getByText('Escrow is off').waitFor();
    await bothSizes(admin.page, 'admin-2-signed-in');

    // With escrow on, a user's first device shows the escrow notice (the card that once hid its button).
    await admin.page.getByRole('region', { name: 'Escrow' }).getByRole('button', { name: 'Turn on escrow' }).click();
    await admin.page.getByRole('region', { name: 'Escrow' }).getByRole('status').getByText('Escrow is on.').waitFor();
    const bob = await profile(`https://localhost:${ports.web}/`, PHONE);
    await signIn(bob.page, 'bob@example.test');
    await confirmBackupKey(bob.page);
    await bob.page.getByRole('heading', { name: 'Your organisation can recover your mail' }).waitFor();
    await bothSizes(bob.page, 'web-8-escrow-notice');
    await bob.page.setViewportSize(PHONE);
    await bob.page.getByRole('button', { name: 'I understand — add it' }).click();
    await bob.page.getByRole('button', { name: 'Folders' }).waitFor();
    for (const d of [admin, bob]) await d.context.close();
    expect(errors).toEqual([]);
  });

  it('link viewer: an incomplete link', async () => {
    const v = await profile(`https://localhost:${ports.viewer}/`);
    await v.page.getByText('This link is incomplete').waitFor();
    await bothSizes(v.page, 'viewer-1-incomplete-link');
    await v.context.close();
  });

  afterAll(() => {
    // Reported once for every screen and size, so one run shows everything to fix.
    if (problems.length) console.error(problems.join('\n'));
  });
  it('no screen scrolls sideways or has a serious or critical accessibility violation', () => {
    expect(problems).toEqual([]);
  });
});
