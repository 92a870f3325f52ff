/**
 * The web client at scale (issue 19), in Chromium on the start command's stack:
 *  - search on the device answers as one types once the index is warm; the time from the last
 *    keystroke to the results is PRINTED (not asserted: timings are benchmarks' business);
 *  - a 100,000-message Inbox (one real mail Alice sealed in her browser, cloned in the database
 *    like apps/api/test/mail-scale.test.ts does) shows its first page after sign-in — the time
 *    from "Sign in" to the first row is PRINTED — and the list is virtualised: however many rows
 *    were loaded by scrolling, only a bounded number are in the page — at phone width too, where
 *    the page scrolls rather than the list pane; j/k still move the focus;
 *  - the on-device indexing of that Inbox runs in the key worker with a progress indicator.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createDb } from '@sealmail/db';
import { auditSizes, confirmBackupKey, DESKTOP, launchChromium, PHONE, printedPasswords, screenshotsDir, stackEnvironment, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const N = 100_000;
/** Rows the virtualised list may have in the page at 1280x800 or 390x844 (visible ones plus overscan). */
const ROW_BUDGET = 60;

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function withDb<T>(f: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
  const db = createDb(url);
  try {
    return await f(db);
  } finally {
    await db.$disconnect();
  }
}

const renderedRows = (page: Page) => page.locator('.list li.row-item').count();
const loadedRows = async (page: Page) => Number(await page.locator('.list ul.virtual').getAttribute('data-rows'));

describe('the web client at scale', () => {
  it('searches as one types, shows a 100,000-message Inbox with a bounded number of rows, and indexes it in the background with a progress bar', { timeout: 1_200_000 }, async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`https://localhost:${ports.web}/`);
    await page.getByLabel('E-mail address').fill(ALICE);
    await page.getByLabel('Password').fill(passwords[ALICE]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    const folders = page.getByRole('navigation', { name: 'Folders' });
    await folders.waitFor({ timeout: 60_000 });
    const messages = page.getByRole('region', { name: 'Messages' });

    // One real mail, sealed in this browser (with its sealed summary).
    await folders.getByRole('button', { name: 'Compose' }).click();
    const compose = page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(ALICE);
    await compose.getByLabel('Subject').fill('Scale canary');
    await compose.getByRole('textbox', { name: 'Message' }).pressSequentially('One mail, many entries.');
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.waitFor({ state: 'detached', timeout: 90_000 });
    await messages.getByRole('button', { name: /Scale canary/ }).first().waitFor({ timeout: 60_000 });

    // Search as one types: the first search brings the index up to date; the second answers from it.
    const box = page.getByRole('searchbox', { name: 'Search mail' });
    await box.pressSequentially('canary');
    await page.getByRole('heading', { name: 'Results for “canary”' }).waitFor({ timeout: 90_000 });
    await messages.getByRole('button', { name: /Scale canary/ }).first().waitFor({ timeout: 30_000 });
    await box.fill('');
    await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 30_000 });
    await box.pressSequentially('scale canar');
    await page.waitForTimeout(500); // as after a pause in typing
    // Timed in the page: from the key's keydown to the animation frame that shows the results.
    await page.evaluate(() => {
      const w = window as unknown as { searchMs?: Promise<number> };
      const input = document.querySelector('input[type="search"]')!;
      w.searchMs = new Promise((done) => {
        input.addEventListener(
          'keydown',
          () => {
            const start = performance.now();
            const seen = () => [...document.querySelectorAll('.list h2')].some((h) => h.textContent?.includes('scale canary')) && [...document.querySelectorAll('.list .row')].some((r) => r.textContent?.includes('Scale canary'));
            const watch = new MutationObserver(() => {
              if (!seen()) return;
              watch.disconnect();
              requestAnimationFrame(() => done(performance.now() - start));
            });
            watch.observe(document.body, { subtree: true, childList: true, characterData: true });
          },
          { once: true },
        );
      });
    });
    const typed = Date.now();
    await box.press('y');
    await page.getByRole('heading', { name: 'Results for “scale canary”' }).waitFor({ timeout: 30_000 });
    await messages.getByRole('button', { name: /Scale canary/ }).first().waitFor({ timeout: 30_000 });
    const searchMs = Date.now() - typed;
    const searchInPageMs = Math.round(await page.evaluate(() => (window as unknown as { searchMs: Promise<number> }).searchMs));
    await box.fill('');
    await page.getByRole('heading', { name: 'Inbox' }).waitFor({ timeout: 30_000 });

    // 100,000 entries of that mail in Alice's Inbox, one second apart, newer than what her index
    // holds (as on a device that has not indexed them yet: the background indexing has work).
    await withDb(async (db) => {
      const user = await db.user.findFirstOrThrow({ where: { localPart: 'alice' } });
      await db.$executeRaw`
        INSERT INTO mailbox_entries (id, user_id, message_id, folder, role, box, thread_id, read, size, received_at)
        SELECT gen_random_uuid(), e.user_id, e.message_id, e.folder, e.role, e.box, gen_random_uuid(), i % 3 = 0, e.size, e.received_at + make_interval(secs => i)
        FROM mailbox_entries e, generate_series(1, ${N - 1}) AS i
        WHERE e.user_id = ${user.id}::uuid AND e.folder = 'inbox'`;
      await db.$executeRawUnsafe('ANALYZE mailbox_entries');
    });

    // Sign out and in again (the same device): the time from "Sign in" to the first row.
    await page.getByRole('button', { name: /^Account: / }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByLabel('E-mail address').waitFor();
    await page.getByLabel('E-mail address').fill(ALICE);
    await page.getByLabel('Password').fill(passwords[ALICE]!);
    // Where the time goes: each API request (start → end, ms after "Sign in") and when the mailbox showed.
    const trace: string[] = [];
    const started = new Map<object, number>();
    const onRequest = (r: { url(): string }) => void started.set(r, Date.now());
    const onDone = (r: { url(): string }) => void trace.push(`${new URL(r.url()).pathname.replace('/api/v1', '')} ${(started.get(r) ?? 0) - signIn}→${Date.now() - signIn}`);
    page.on('request', onRequest);
    page.on('requestfinished', onDone);
    // Timed in the page too: from the click on "Sign in" to the animation frame that shows the first row.
    await page.evaluate(() => {
      const w = window as unknown as { firstViewMs?: Promise<number> };
      const button = [...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Sign in') ?? document.querySelector('form button[type="submit"]')!;
      w.firstViewMs = new Promise((done) => {
        button.addEventListener(
          'click',
          () => {
            const start = performance.now();
            const watch = new MutationObserver(() => {
              if (![...document.querySelectorAll('.list .row')].some((r) => r.textContent?.includes('Scale canary'))) return;
              watch.disconnect();
              requestAnimationFrame(() => done(performance.now() - start));
            });
            watch.observe(document.body, { subtree: true, childList: true, characterData: true });
          },
          { once: true },
        );
      });
    });
    const signIn = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await folders.waitFor({ timeout: 120_000 });
    const mailboxMs = Date.now() - signIn;
    await messages.getByRole('button', { name: /Scale canary/ }).first().waitFor({ timeout: 120_000 });
    const firstViewMs = Date.now() - signIn;
    const firstViewInPageMs = Math.round(await page.evaluate(() => (window as unknown as { firstViewMs: Promise<number> }).firstViewMs));
    page.off('request', onRequest);
    page.off('requestfinished', onDone);

    // Virtualised: a page of 50 loaded, far fewer rendered; scrolling loads more, the rendered count stays bounded.
    await expect.poll(() => loadedRows(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(50);
    expect(await renderedRows(page)).toBeLessThanOrEqual(ROW_BUDGET);
    for (let i = 0; i < 40 && (await loadedRows(page)) < 150; i++) {
      await page.locator('.list').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(1500);
    }
    expect(await loadedRows(page)).toBeGreaterThanOrEqual(150);
    expect(await renderedRows(page)).toBeLessThanOrEqual(ROW_BUDGET);
    await expect.poll(() => page.locator('.list li.row-item[aria-posinset="1"]').count(), { timeout: 10_000 }).toBe(0); // the top rows left the page

    // Phone width: the page scrolls rather than the list pane, and the list follows the window —
    // still only the rows in view (plus overscan) are in the page, wherever it is scrolled to.
    await page.setViewportSize(PHONE);
    await expect.poll(() => renderedRows(page), { timeout: 10_000 }).toBeLessThanOrEqual(ROW_BUDGET);
    let phoneMost = 0;
    for (let i = 1; i <= 4; i++) {
      await page.evaluate((f) => window.scrollTo(0, document.documentElement.scrollHeight * f), i / 5);
      await page.waitForTimeout(500);
      phoneMost = Math.max(phoneMost, await renderedRows(page));
      expect(await renderedRows(page)).toBeLessThanOrEqual(ROW_BUDGET);
    }
    await expect.poll(() => page.locator('.list li.row-item[aria-posinset="1"]').count(), { timeout: 10_000 }).toBe(0); // the top rows left the page
    const middle = Number(await page.locator('.list li.row-item').first().getAttribute('aria-posinset'));
    expect(middle).toBeGreaterThan(20);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.setViewportSize(DESKTOP);

    // Keyboard: back to the top, then j moves the focus row by row (rows scrolled in as needed).
    await page.locator('.list').evaluate((el) => el.scrollTo(0, 0));
    const first = messages.locator('li.row-item[aria-posinset="1"] .row');
    await first.waitFor();
    await first.focus();
    for (let i = 0; i < 12; i++) await page.keyboard.press('j');
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('li')?.getAttribute('aria-posinset')), { timeout: 10_000 }).toBe('13');

    // The Inbox's 100,000 mails are being indexed in the key worker, with a progress bar.
    const progress = page.getByRole('status').filter({ hasText: 'Indexing mail for search on this device' });
    await progress.waitFor({ timeout: 60_000 });
    await progress.getByRole('progressbar').waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'mailbox-scale-desktop.png') });
    // The list with its progress bar, at both sizes: axe-core and no sideways scrolling.
    await page.locator('.list').evaluate((el) => el.scrollTo(0, 0));
    expect(await auditSizes(page, 'mailbox-scale-list')).toEqual([]);

    console.log(`\n[mailbox-scale] sign-in → first Inbox row (100,000-message Inbox): ${firstViewInPageMs} ms in the page (click → frame showing it); ${firstViewMs} ms as Playwright saw it (mailbox shown at ${mailboxMs} ms)`);
    console.log(`[mailbox-scale] requests until then (path start→end ms): ${trace.filter((l) => Number(l.split('→')[0]!.split(' ')[1]) <= firstViewMs).join(', ')}`);
    console.log(`[mailbox-scale] keystroke → search results (warm index): ${searchInPageMs} ms in the page (keydown → frame showing them); ${searchMs} ms as Playwright saw it`);
    console.log(`[mailbox-scale] rows loaded ${await loadedRows(page)}, rows in the page ${await renderedRows(page)} at 1280 px, at most ${phoneMost} at 390 px\n`);
    await context.close();
  });
});
