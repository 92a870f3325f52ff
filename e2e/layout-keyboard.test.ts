/**
 * Layout, keyboard and wording guards for the web client and the admin console, in Chromium on the
 * start command's stack (they began as a UI review's findings):
 * - a message-list row keeps its date in view when the sender address is long (desk and phone:
 *   the sender is cut with an ellipsis, styles.css `.list .row`);
 * - at desk size an opened message wraps an unbroken link inside its card (`.message`
 *   overflow-wrap at every size);
 * - on a phone the full-screen compose is modal: Tab stays in it, what it hides is inert
 *   (Compose.tsx, layout.ts useInertBehind);
 * - in German the devices table names device kinds and states in German (`devices.kinds.*`,
 *   `devices.states.*`);
 * - an admin form names a mistyped mailing-list member in words, never as a request path such as
 *   `body.members.1` (apps/admin/src/problem.ts);
 * - the admin console's "Confirm it is you" prompt is a modal <dialog>: Tab stays in it and Escape
 *   closes it (Reauth.tsx).
 * All are measured with DOM geometry, focus and text, not pixels or time.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDb } from '@sealmail/db';
import { confirmBackupKey, DESKTOP, launchChromium, openAdminSection, openSettings, PHONE, printedPasswords, screenshotsDir, settle, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const ADMIN = 'admin@example.test';
/** A real-world sender: a long notification address with no space to break at. */
const LONG_SENDER = 'account-security-notifications-noreply@mail.customer-communications.internationalcompanyname.example';
/** A real-world unbroken line: a password-reset link with a long token. */
const LONG_LINK = `https://accounts.internationalcompanyname.example/reset?token=${'9f3c2a71be04d58e'.repeat(8)}`;

let alice: { context: BrowserContext; page: Page };
let admin: { context: BrowserContext; page: Page };

beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();

  const transport = await stackTransport(dataDir, ports.smtp);
  await transport.sendMail({ from: `"Account Security" <${LONG_SENDER}>`, to: ALICE, subject: 'Reset your password', text: `Hello Alice,\n\nuse this link within an hour:\n${LONG_LINK}\n\nThe security team` });
  transport.close();

  const ac = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
  alice = { context: ac, page: await ac.newPage() };
  await alice.page.goto(`https://localhost:${ports.web}/`);
  await alice.page.getByLabel('E-mail address').fill(ALICE);
  await alice.page.getByLabel('Password').fill(passwords[ALICE]!);
  await alice.page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(alice.page);
  await alice.page.getByRole('navigation', { name: 'Folders' }).waitFor();
  await alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Reset your password/ }).waitFor({ timeout: 60_000 });

  const dc = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
  admin = { context: dc, page: await dc.newPage() };
  await admin.page.goto(`https://localhost:${ports.admin}/`);
  await admin.page.getByLabel('Administrator address').fill(ADMIN);
  await admin.page.getByLabel('Password').fill(passwords[ADMIN]!);
  await admin.page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(admin.page);
  await admin.page.getByRole('navigation', { name: 'Console sections' }).waitFor();
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

const shot = (page: Page, name: string) => page.screenshot({ path: join(screenshotsDir, `layout-keyboard-${name}.png`) });

describe('web client layout and keyboard', () => {
  it('a message row keeps its date in view when the sender address is long (desk and phone)', { timeout: 120_000 }, async () => {
    const { page } = alice;
    const seen: unknown[] = [];
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      await settle(page);
      const row = page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Reset your password/ });
      await row.waitFor();
      await shot(page, `list-long-sender-${size.width}`);
      const g = await row.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const list = el.closest('.list')!.getBoundingClientRect();
        const date = el.querySelector('.date')!.getBoundingClientRect();
        return { rowRight: Math.round(r.right), listRight: Math.round(list.right), dateRight: Math.round(date.right), rowScroll: el.scrollWidth, rowWidth: el.clientWidth };
      });
      // The row's date must sit inside the row and the list, and the row must not be wider than itself.
      seen.push({ size: size.width, dateInsideRow: g.dateRight <= g.rowRight, dateInsideList: g.dateRight <= g.listRight, rowFits: g.rowScroll <= g.rowWidth, geometry: g });
    }
    await page.setViewportSize(DESKTOP);
    expect(seen).toEqual([DESKTOP, PHONE].map((s) => expect.objectContaining({ size: s.width, dateInsideRow: true, dateInsideList: true, rowFits: true })));
  });

  it('at desk size an opened message wraps an unbroken link inside its card (no sideways scrolling of the reading pane)', { timeout: 120_000 }, async () => {
    const { page } = alice;
    await page.setViewportSize(DESKTOP);
    await page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Reset your password/ }).click();
    const article = page.getByRole('article', { name: `Message from ${LONG_SENDER}` });
    await article.getByText('The security team').waitFor();
    await settle(page);
    await shot(page, 'reader-long-link-1280');
    const g = await page.evaluate(() => {
      const card = document.querySelector('.message')!;
      const reader = document.querySelector('.reader')!;
      return { cardScroll: card.scrollWidth, cardWidth: card.clientWidth, readerScroll: reader.scrollWidth, readerWidth: reader.clientWidth };
    });
    // Nothing of the message may run past its card (or make the reading pane scroll sideways).
    expect(g.cardScroll, JSON.stringify(g)).toBeLessThanOrEqual(g.cardWidth);
    expect(g.readerScroll, JSON.stringify(g)).toBeLessThanOrEqual(g.readerWidth);
  });

  it('on a phone the full-screen compose keeps Tab inside it (no focus on controls hidden under it)', { timeout: 120_000 }, async () => {
    const { page } = alice;
    await page.setViewportSize(PHONE);
    await page.getByRole('button', { name: 'Back to the list' }).click().catch(() => undefined);
    await page.getByRole('button', { name: 'Compose' }).first().click();
    const compose = page.getByRole('dialog', { name: 'Compose' });
    await compose.waitFor();
    await settle(page);
    const outside: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const at = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        if (el === document.body || el.closest('.compose')) return null;
        return `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30)}"`;
      });
      if (at) outside.push(at);
    }
    await shot(page, 'compose-phone-tab');
    await page.keyboard.press('Escape');
    await page.setViewportSize(DESKTOP);
    // Compose covers the whole screen: focus on anything outside it is focus the user cannot see.
    expect(outside).toEqual([]);
  });

  it('in German the devices table names each device kind and state in German', { timeout: 120_000 }, async () => {
    const { page } = alice;
    await page.setViewportSize(DESKTOP);
    await openSettings(page, 'Alice Example');
    await page.locator('#settings-language select').selectOption('de');
    await page.getByRole('heading', { name: 'Einstellungen', level: 1 }).waitFor();
    const row = page.getByRole('region', { name: 'Geräte' }).getByRole('row').filter({ hasText: '(dieses Gerät)' });
    await row.waitFor();
    await row.scrollIntoViewIfNeeded();
    await shot(page, 'devices-de');
    const cells = await row.getByRole('cell').allTextContents();
    // English words straight from the key history ("browser", "approved") are not German.
    expect(cells.map((c) => c.trim()).filter((c) => ['browser', 'backup', 'approved', 'pending', 'revoked'].includes(c))).toEqual([]);
  });
});

describe('admin console forms and prompts', () => {
  it('a mistyped mailing-list member is named in words, not as a raw request path', { timeout: 120_000 }, async () => {
    const { page } = admin;
    await page.setViewportSize(DESKTOP);
    await openAdminSection(page, 'Mail flow');
    const form = page.getByRole('form', { name: 'New mailing list' });
    await form.getByLabel('Address').fill('team@example.test');
    await form.getByLabel('Name', { exact: true }).fill('Team');
    await form.getByLabel('Members (one per line)').fill('alice@example.test\nbob at example.test');
    await form.getByRole('button', { name: 'Create list' }).click();
    const alert = page.getByRole('region', { name: 'Mailing lists' }).getByRole('alert');
    await alert.waitFor();
    await alert.scrollIntoViewIfNeeded();
    await shot(page, 'admin-list-error');
    const text = (await alert.textContent())!;
    // The message says which member is wrong, as typed, and uses no internal field path.
    expect(text).not.toMatch(/body\.|members\.\d/);
    expect(text).toContain('bob at example.test');
  });

  it("the admin console's password prompt keeps Tab inside it and closes with Escape", { timeout: 120_000 }, async () => {
    const { page } = admin;
    await page.setViewportSize(DESKTOP);
    // Time passes: the sign-in no longer counts as a fresh proof, so a sensitive change asks again.
    const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
    const db = createDb(url);
    try {
      await db.session.updateMany({ where: { user: { localPart: 'admin' } }, data: { reauthAt: new Date(Date.now() - 10 * 60_000) } });
    } finally {
      await db.$disconnect();
    }
    await openAdminSection(page, 'Security');
    await page.getByLabel('Reset the password of (e-mail address)').fill('bob@example.test');
    await page.getByRole('button', { name: 'Reset password' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.getByLabel('Password').waitFor();
    const left: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      const at = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return el.closest('[role="dialog"]') ? null : `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 30)}"`;
      });
      if (at) left.push(at);
    }
    await shot(page, 'admin-reauth-tab');
    await page.keyboard.press('Escape');
    await settle(page);
    const stillOpen = await dialog.count();
    // A modal dialog (aria-modal) keeps focus inside; Escape closes it wherever focus went.
    expect({ focusLeftTheDialog: left, openAfterEscape: stillOpen }).toEqual({ focusLeftTheDialog: [], openAfterEscape: 0 });
  });
});
