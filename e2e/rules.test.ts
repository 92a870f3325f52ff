/**
 * Filters and aliases in Chromium, on the start command's stack: Alice adds a filter that runs on
 * her device (subject contains … → label) and a new mail from outside arrives labelled; Settings
 * shows the two kinds of filters apart. An admin-given alias (sales@) receives Bob's E2EE mail;
 * Alice's reply goes from the alias (the From picker starts there) and Bob's client shows it
 * "E2E Encrypted" from sales@. Screenshots of Settings → Filters / Out of office and of the
 * compose window's From, at desktop and phone size, with the axe audit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDb } from '@sealmail/db';
import { auditSizes, confirmBackupKey, DESKTOP, PHONE, screenshotsDir, launchChromium, openSettings, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
  // The admin gives Alice the alias sales@ (the admin console's Users section does the same).
  const db = createDb(`postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`);
  try {
    const alice = await db.user.findFirstOrThrow({ where: { localPart: 'alice' } });
    await db.userAlias.create({ data: { userId: alice.id, domainId: alice.domainId, localPart: 'sales' } });
  } finally {
    await db.$disconnect();
  }
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function signedIn(address: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return { context, page };
}

let alice: { context: BrowserContext; page: Page };
let bob: { context: BrowserContext; page: Page };

describe('filters and aliases in the browser', () => {
  it('a filter run on the device labels a new mail; Settings shows the two kinds apart', async () => {
    alice = await signedIn(ALICE);
    const page = alice.page;
    // A label to file into (its name is sealed on the device).
    const folders = page.getByRole('navigation', { name: 'Folders' });
    await folders.getByLabel('New label').fill('Receipts');
    await folders.getByLabel('New label').press('Enter');
    await folders.getByRole('button', { name: 'Receipts' }).waitFor({ timeout: 30_000 });

    await openSettings(page, 'Alice Example');
    const filters = page.getByRole('region', { name: 'Filters' });
    await filters.getByRole('heading', { name: 'Run by the server on what it can see' }).waitFor();
    await filters.getByRole('heading', { name: 'Run on your devices' }).waitFor();
    await expect.poll(() => filters.innerText(), { timeout: 30_000 }).toContain('mail encrypted end to end cannot be read by the server, so it cannot forward it');
    const form = filters.getByRole('form', { name: 'New device filter' });
    await form.getByLabel('Where to look').selectOption('subject');
    await form.getByLabel('Contains').fill('receipt');
    await form.getByLabel('then').selectOption('label');
    await form.getByLabel('Action target').selectOption({ label: 'Receipts' });
    await form.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(() => filters.innerText(), { timeout: 30_000 }).toContain('Subject contains “receipt” → label Receipts');
    // A server filter too, to see both kinds listed.
    const server = filters.getByRole('form', { name: 'New server filter' });
    await server.getByLabel('Condition value').fill('news.example');
    await server.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(() => filters.innerText(), { timeout: 30_000 }).toContain('from news.example → move to Inbox');
    await page.getByRole('region', { name: 'Out of office' }).getByLabel('Reply', { exact: true }).fill('Back on Monday.');
    const problems = await auditSizes(page, 'rules-settings');
    expect(problems).toEqual([]);
    // The two sections themselves (the settings page scrolls inside its own pane on a desktop).
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      await filters.screenshot({ path: join(screenshotsDir, `rules-filters-${size.width}x${size.height}.png`) });
      await page.getByRole('region', { name: 'Out of office' }).screenshot({ path: join(screenshotsDir, `rules-out-of-office-${size.width}x${size.height}.png`) });
    }
    await page.setViewportSize(DESKTOP);

    await page.getByRole('button', { name: 'Back to mail' }).click();
    await folders.waitFor();
    // A new mail from outside whose subject matches: labelled on Alice's device as it arrives.
    const transport = await stackTransport(dataDir, ports.smtp);
    expect((await transport.sendMail({ from: 'shop@store.example', to: ALICE, subject: 'Your receipt 1042', text: 'Thanks' })).response).toMatch(/^250 /);
    const list = page.getByRole('region', { name: 'Messages' });
    await list.getByRole('button', { name: /Your receipt 1042/ }).waitFor({ timeout: 60_000 });
    await folders.getByRole('button', { name: 'Receipts' }).click();
    await expect.poll(() => list.getByRole('button', { name: /Your receipt 1042/ }).count(), { timeout: 60_000 }).toBe(1);
  }, 240_000);

  it('mail to an alias arrives; the reply goes from that alias and is E2E Encrypted from it for the recipient', async () => {
    bob = await signedIn(BOB);
    await bob.page.keyboard.press('c');
    const compose = bob.page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill('sales@example.test');
    await compose.getByLabel('Subject').fill('Quote for 40 chairs');
    await compose.getByRole('textbox', { name: 'Message' }).fill('What would 40 chairs cost?');
    await compose.getByRole('button', { name: 'Send' }).click();
    await bob.page.getByRole('status').getByText('Sent.').waitFor({ timeout: 60_000 });

    const page = alice.page;
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Inbox/ }).click();
    const row = page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Quote for 40 chairs/ });
    await row.waitFor({ timeout: 60_000 });
    await row.click();
    await page.getByRole('article', { name: `Message from ${BOB}` }).getByText('E2E Encrypted').waitFor({ timeout: 30_000 });
    await page.keyboard.press('r');
    const reply = page.getByRole('dialog', { name: 'Compose' });
    // The reply starts from the address the mail came to.
    await expect.poll(() => reply.getByLabel('From').inputValue(), { timeout: 30_000 }).toBe('sales@example.test');
    await reply.getByRole('textbox', { name: 'Message' }).pressSequentially('About 2,400 EUR. ');
    const problems = await auditSizes(page, 'rules-compose-from');
    expect(problems).toEqual([]);
    await reply.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('status').getByText('Sent.').waitFor({ timeout: 60_000 });

    const answer = bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Re: Quote for 40 chairs/ });
    await answer.waitFor({ timeout: 60_000 });
    await answer.click();
    const message = bob.page.getByRole('article', { name: 'Message from sales@example.test' });
    await message.getByText('E2E Encrypted').waitFor({ timeout: 30_000 });
    await message.getByText('(alias of alice@example.test)').waitFor();
    await expect.poll(() => message.getByRole('alert').count()).toBe(0);
  }, 240_000);
});
