/**
 * Mail moving in and out, in Chromium on the start command's stack (docs/mail.md §10–§11):
 *  - Alice sends dave@partner.invalid an expiring link (.invalid does not exist: the notice bounces
 *    and nothing leaves this machine; the test builds the link from what Alice's own
 *    browser sent and the link row, as the notice would carry it). Dave opens it in a fresh
 *    browser, writes a reply with an attachment in the viewer's form; it is sealed in his browser.
 *    Alice sees it arrive in her Inbox, in the thread of her mail, labelled as a reply through a
 *    secure link that is not signed, and the attachment is Dave's file byte for byte.
 *  - Alice exports her Inbox as mbox in Settings (built in the browser) and imports the file into
 *    Archive; the imported copy shows there, labelled Imported.
 * Screens at 1280x800 and 390x844 are audited (axe-core, sideways scrolling) and saved.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDb } from '@sealmail/db';
import { fromBase64Url, passwordDigest, toBase64Url } from '@sealmail/crypto';
import { auditSizes, confirmBackupKey, launchChromium, openSettings, printedPasswords, stackEnvironment, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const DAVE = 'dave@partner.invalid';
/** The link copies Alice's browser sent: envelope and each recipient's password. */
const linkSends: { envelope: string; recipients: { address: string; password: string }[] }[] = [];
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

async function signedIn(address: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  context.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/mail/messages')) {
      const body = JSON.parse(r.postData() ?? '{}') as { links?: { envelope: string; recipients: { address: string; password: string }[] } };
      if (body.links) linkSends.push(body.links);
    }
  });
  const page = await context.newPage();
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return { context, page };
}

async function withDb<T>(f: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
  const db = createDb(url);
  try {
    return await f(db);
  } finally {
    await db.$disconnect();
  }
}

let alice: { context: BrowserContext; page: Page };

describe('export, import and secure replies', () => {
  it('an outside recipient replies from the viewer with an attachment; the sender sees it in the thread, labelled as such', async () => {
    alice = await signedIn(ALICE);
    const folders = alice.page.getByRole('navigation', { name: 'Folders' });
    await folders.getByRole('button', { name: 'Compose' }).click();
    const compose = alice.page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(DAVE);
    await compose.getByLabel('Subject').fill('Quote for Dave');
    await compose.getByRole('textbox', { name: 'Message' }).pressSequentially('Our quote is attached in spirit.');
    // An image in the text: the viewer shows it in place, opened in Dave's browser.
    const logo = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const [chooser] = await Promise.all([alice.page.waitForEvent('filechooser'), compose.getByRole('button', { name: 'Insert an image into the text' }).click()]);
    await chooser.setFiles({ name: 'logo.png', mimeType: 'image/png', buffer: logo });
    await compose.getByRole('textbox', { name: 'Message' }).locator('img[alt="logo.png"]').waitFor();
    await compose.getByLabel('Link works for').selectOption('7d');
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.waitFor({ state: 'detached', timeout: 90_000 });

    // The link as the notice carries it: the path from the link row, the fragment from what Alice's browser sealed.
    const sentLink = linkSends.find((l) => l.recipients.some((r) => r.address === DAVE))!;
    const password = sentLink.recipients.find((r) => r.address === DAVE)!.password;
    const digest = toBase64Url(passwordDigest(fromBase64Url(sentLink.envelope)));
    const linkId = await withDb(async (db) => (await db.mailLink.findFirstOrThrow({ where: { recipient: DAVE } })).id);
    const url = `https://localhost:${ports.viewer}/m/${linkId}#${password}.${digest}`;

    // Dave, in a fresh browser: the mail, then the reply form.
    const daveContext = await browser.newContext({ ignoreHTTPSErrors: true });
    const dave = await daveContext.newPage();
    await dave.goto(url);
    await expect.poll(() => dave.locator('#subject').textContent(), { timeout: 60_000 }).toBe('Quote for Dave');
    const inText = dave.frameLocator('iframe.html-body').locator('img[alt="logo.png"]');
    await expect.poll(() => inText.evaluate((i: HTMLImageElement) => (i.complete && i.src.startsWith('data:image/png;base64,') ? i.naturalWidth : 0)), { timeout: 30_000 }).toBe(1);
    // Shown in place, so not listed as a file to download.
    expect(await dave.getByRole('button', { name: /logo\.png/ }).count()).toBe(0);
    const form = dave.getByRole('form', { name: 'Reply securely' });
    await form.getByText(/not signed, because you have no key of your own/).waitFor();
    problems.push(...(await auditSizes(dave, 'mail-move-viewer-reply')));
    const file = Buffer.concat([Buffer.from('%PDF-1.4 signed\n'), randomBytes(40_000)]);
    // Sending without text names what to fix.
    await form.getByRole('button', { name: 'Send encrypted reply' }).click();
    await form.getByRole('status').getByText('Write your reply before sending it.').waitFor();
    await form.getByLabel('Your reply').fill('Thank you, Alice — accepted, signed copy attached.');
    await form.getByLabel(/Attach files/).setInputFiles({ name: 'signed.pdf', mimeType: 'application/pdf', buffer: file });
    // By keyboard: Enter on the button sends, and the focus stays on it (a disabled button used to drop it to the page).
    const sendButton = form.getByRole('button', { name: 'Send encrypted reply' });
    await sendButton.focus();
    await dave.keyboard.press('Enter');
    await form.getByRole('status').getByText(`Your reply was sent, encrypted, to ${ALICE}.`).waitFor({ timeout: 60_000 });
    expect(await sendButton.evaluate((b) => b === document.activeElement)).toBe(true);
    problems.push(...(await auditSizes(dave, 'mail-move-viewer-replied')));
    await daveContext.close();

    // Alice's Inbox shows it (server-sent events), labelled as a reply through a link, not signed.
    await folders.getByRole('button', { name: /^Inbox/ }).click();
    const row = alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Re: Quote for Dave/ });
    await row.waitFor({ timeout: 60_000 });
    await row.getByText('Reply through secure link — not signed').waitFor();
    await row.click();
    const message = alice.page.getByRole('article', { name: `Message from ${DAVE}` });
    await message.getByText(`Reply through secure link from ${DAVE} — not signed (outside recipients have no key).`).waitFor({ timeout: 30_000 });
    await message.getByText('Thank you, Alice — accepted, signed copy attached.').waitFor();
    expect(await message.getByText('E2E Encrypted').count()).toBe(0);
    expect(await message.getByText(/Signed by/).count()).toBe(0);
    const [download] = await Promise.all([alice.page.waitForEvent('download', { timeout: 60_000 }), message.getByRole('button', { name: 'Download signed.pdf' }).click()]);
    expect(createHash('sha256').update(await readFile((await download.path())!)).digest('hex')).toBe(createHash('sha256').update(file).digest('hex'));
    problems.push(...(await auditSizes(alice.page, 'mail-move-link-reply-in-inbox')));
    // In the thread of Alice's mail.
    await withDb(async (db) => {
      const entries = await db.mailboxEntry.findMany({ where: { user: { localPart: 'alice' } }, select: { threadId: true, role: true, message: { select: { senderAddress: true } } } });
      const reply = entries.find((e) => e.message.senderAddress === DAVE)!;
      const mine = entries.filter((e) => e.role === 'sender-copy' && e.threadId === reply.threadId);
      expect(mine).toHaveLength(1);
    });
  });

  it('exports the Inbox as mbox in the browser and imports it into Archive', async () => {
    const page = alice.page;
    await openSettings(page, 'Alice Example');
    await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Export and import' }).click();
    const section = page.getByRole('region', { name: 'Export and import' });
    await section.getByLabel('Folder', { exact: true }).selectOption('inbox');
    await section.getByLabel('mbox (one file)').check();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), section.getByRole('button', { name: 'Export', exact: true }).click()]);
    const mbox = await readFile((await download.path())!);
    expect(download.suggestedFilename()).toMatch(/^sealmail-inbox-\d{4}-\d\d-\d\d\.mbox$/);
    // mboxrd: each message starts with a "From " line; Dave's reply is among them (the Inbox may also
    // hold the report that the link notice to partner.invalid, a domain that does not exist, bounced).
    expect(mbox.toString('latin1')).toMatch(/^From \S+ /);
    expect(mbox.toString('latin1')).toMatch(/(^|\n)From dave@partner\.invalid /);
    expect(mbox.toString('latin1')).toContain('Subject: Re: Quote for Dave');
    const exportStatus = section.getByRole('status').filter({ hasText: /^Exported/ });
    await exportStatus.waitFor();
    const count = Number(/Exported (\d+) messages?;/.exec(await exportStatus.innerText())![1]);
    expect(count).toBeGreaterThanOrEqual(1);

    await section.getByLabel('File to import').setInputFiles({ name: 'inbox.mbox', mimeType: 'application/mbox', buffer: mbox });
    await section.getByLabel('Into folder').selectOption('archive');
    await section.getByRole('button', { name: 'Import', exact: true }).click();
    await section.getByRole('status').getByText(`Imported ${count} message${count === 1 ? '' : 's'} into Archive.`).waitFor({ timeout: 120_000 });
    problems.push(...(await auditSizes(page, 'mail-move-settings-transfer')));

    await page.getByRole('button', { name: 'Back to mail' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Archive/ }).click();
    const row = page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Re: Quote for Dave/ });
    await row.waitFor({ timeout: 60_000 });
    await row.getByText('Imported').waitFor();
    await row.click();
    const message = page.getByRole('article', { name: `Message from ${DAVE}` });
    await message.getByText('Thank you, Alice — accepted, signed copy attached.').waitFor({ timeout: 30_000 });
    await message.getByRole('button', { name: 'Download signed.pdf' }).waitFor();
    expect(problems).toEqual([]);
  });
});
