/**
 * Reading mail in the web client (issue 17, "Reading"), in Chromium on the start command's stack:
 *  - an HTML body's frame is as tall as its content (nothing scrolls inside it) and in the UI's
 *    sans-serif font, not the browser's serif default;
 *  - a conversation opens with the read messages collapsed to a line, the unread ones and the
 *    newest open, and is scrolled to the newest, which starts below the message actions (they
 *    stay in view beside the list);
 *  - a row with an attachment shows a drawn paperclip (an SVG named "1 attachment", no emoji), the
 *    reader a small size in kB (never "0.0 MiB");
 *  - a search hit is a full row: snippet, star, label chip and protection label;
 *  - the Drafts list names a draft's recipient ("To: …");
 *  - the page has a favicon (no 404 on any page load).
 * axe-core and the no-sideways check on the reader and the search results at both sizes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createDb } from '@sealmail/db';
import { auditSizes, confirmBackupKey, DESKTOP, launchChromium, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const notFound: string[] = [];
const problems: string[] = [];
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

const paragraphs = (word: string, n: number) => Array.from({ length: n }, (_, i) => `${word} paragraph ${i + 1} of ${n}, long enough to take a line of its own.`);

async function fromOutside(mail: { subject: string; text?: string; html?: string; messageId: string; inReplyTo?: string; attachments?: { filename: string; content: Buffer }[] }) {
  const transport = await stackTransport(dataDir, ports.smtp);
  await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to: ALICE, ...mail, ...(mail.inReplyTo ? { references: [mail.inReplyTo] } : {}) });
  transport.close();
}

/**
 * The Message-ID the server gave the newest mail from Erin. Inbound mail is threaded by the
 * server's own Message-IDs (an outside reply to a mail sent from here carries one), so the
 * conversation below answers with them, as a reply to mail from here would.
 */
const seen = new Set<string>();
async function newestMailId(): Promise<string> {
  const db = createDb(`postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`);
  try {
    const fresh = (await db.message.findMany({ where: { senderAddress: 'erin@outside.example' }, select: { mailId: true } })).map((m) => m.mailId).filter((id) => !seen.has(id));
    expect(fresh).toHaveLength(1);
    seen.add(fresh[0]!);
    return `<${fresh[0]!}>`;
  } finally {
    await db.$disconnect();
  }
}

async function signIn(): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => void (r.status() === 404 && notFound.push(r.url())));
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(ALICE);
  await page.getByLabel('Password').fill(passwords[ALICE]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return page;
}

describe('reading mail', () => {
  it('frame height and font, a conversation scrolled to its newest, paperclip and sizes, full search hits, Drafts recipients', { timeout: 300_000 }, async () => {
    const page = await signIn();
    const messages = page.getByRole('region', { name: 'Messages' });
    const pane = page.getByRole('region', { name: 'Reading pane' });
    expect(await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href)).toMatch(/\/favicon\.svg$/);

    // An HTML mail of 40 paragraphs: the frame grows to its content, in the UI's font.
    await fromOutside({ subject: 'Long HTML newsletter', messageId: '<html-1@outside.example>', html: paragraphs('Newsletter', 40).map((p) => `<p>${p}</p>`).join('') });
    await messages.getByRole('button', { name: /Long HTML newsletter/ }).click({ timeout: 60_000 });
    await newestMailId();
    const frame = pane.getByRole('article', { name: 'Message from erin@outside.example' }).locator('iframe.html-body');
    await pane.frameLocator('iframe.html-body').getByText('Newsletter paragraph 40 of 40,', { exact: false }).waitFor();
    const fits = () => frame.evaluate((el: HTMLIFrameElement) => ({ content: el.contentDocument!.documentElement.scrollHeight, frame: el.clientHeight, font: getComputedStyle(el.contentDocument!.body).fontFamily }));
    await expect.poll(async () => { const f = await fits(); return f.frame >= f.content && f.content > 800; }, { timeout: 15_000 }).toBe(true);
    const { font } = await fits();
    expect(font).toMatch(/^system-ui/);
    expect(font).toMatch(/sans-serif$/);

    // A conversation of three: the first read (so collapsed), then two long unread replies.
    await fromOutside({ subject: 'Offsite plans', messageId: '<thread-1@outside.example>', text: 'First: where shall we go?' });
    const first = messages.getByRole('button', { name: /^Unread: Offsite plans from/ });
    await first.click({ timeout: 60_000 });
    await pane.getByText('First: where shall we go?').waitFor();
    await fromOutside({ subject: 'Re: Offsite plans', messageId: '<thread-2@outside.example>', inReplyTo: await newestMailId(), text: paragraphs('Second', 60).join('\n\n') });
    await messages.getByRole('button', { name: /^Unread: Re: Offsite plans/ }).waitFor({ timeout: 60_000 });
    await fromOutside({ subject: 'Re: Offsite plans', messageId: '<thread-3@outside.example>', inReplyTo: await newestMailId(), text: `Third and newest.\n\n${paragraphs('Third', 8).join('\n\n')}` });
    const newestRow = messages.getByRole('button', { name: /^Unread: Re: Offsite plans/ }).first();
    await expect.poll(() => messages.getByRole('button', { name: /^Unread: Re: Offsite plans/ }).count(), { timeout: 60_000 }).toBe(2);
    await newestRow.click();
    const newest = pane.getByRole('article').filter({ hasText: 'Third and newest.' });
    await newest.waitFor();
    // The read first message is one line that opens on a click; the unread second is open.
    const collapsed = pane.getByRole('button', { name: /First: where shall we go\?/, expanded: false });
    await collapsed.waitFor();
    expect(await pane.getByText('Second paragraph 60 of 60,', { exact: false }).count()).toBe(1);
    // Scrolled to the newest: its top is in the window although the message above is long.
    const top = () => newest.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; });
    await expect.poll(top, { timeout: 10_000 }).toBe(true);
    expect(await pane.getByText('Second paragraph 1 of 60,', { exact: false }).evaluate((el) => el.getBoundingClientRect().bottom < 0 || el.closest('pre')!.getBoundingClientRect().top < 0)).toBe(true);
    // Beside the list the message actions stay in view, and the newest message starts below them.
    const bar = page.getByRole('toolbar', { name: 'Message actions' });
    const clear = async () => {
      const b = (await bar.boundingBox())!;
      const n = (await newest.boundingBox())!;
      return b.y >= 0 && b.y + b.height <= n.y + 1;
    };
    await expect.poll(clear, { timeout: 10_000 }).toBe(true);
    problems.push(...(await auditSizes(page, 'reading-1-thread')));
    await collapsed.click();
    await expect.poll(() => pane.getByRole('article').count()).toBe(3);

    // A small attachment: a drawn paperclip in the row, its size in kB in the reader.
    await fromOutside({ subject: 'Agenda attached', messageId: '<att-1@outside.example>', text: 'The agenda for quokkafest is attached.', attachments: [{ filename: 'agenda.txt', content: Buffer.alloc(2_000, 'a') }] });
    const attRow = messages.getByRole('button', { name: /Agenda attached/ });
    await attRow.waitFor({ timeout: 60_000 });
    await attRow.locator('svg[role="img"][aria-label="1 attachment"]').waitFor();
    expect(await attRow.textContent()).not.toMatch(/\p{Extended_Pictographic}/u);
    await attRow.click();
    const attachments = pane.getByRole('list', { name: 'Attachments' });
    await attachments.getByText('agenda.txt').waitFor();
    expect(await attachments.locator('.size').textContent()).toBe('2 kB');

    // Starred and labelled, then found by a word of its body: the hit is a full row.
    // "Star" sends starred: true for the row as shown, so pressing it again while it still reads
    // "Star" is harmless: a list refresh racing the first press (new mail arrives here) can show
    // the row's older state for a moment.
    const actions = page.getByRole('toolbar', { name: 'Message actions' });
    await expect
      .poll(
        async () => {
          if (await actions.getByRole('button', { name: 'Starred', exact: true }).isVisible()) return true;
          await actions.getByRole('button', { name: 'Star', exact: true }).click({ timeout: 5000 }).catch(() => undefined);
          return false;
        },
        { timeout: 60_000, interval: 2000 },
      )
      .toBe(true);
    await page.getByLabel('New label').fill('Events');
    await page.getByLabel('New label').press('Enter');
    await page.getByRole('list', { name: 'Labels' }).getByRole('button', { name: 'Events' }).waitFor();
    await page.getByRole('toolbar', { name: 'Message actions' }).getByLabel('Label').selectOption({ label: 'Events' });
    await attRow.getByText('Events', { exact: true }).waitFor();
    await page.getByRole('searchbox', { name: 'Search mail' }).fill('quokkafest');
    await page.getByRole('searchbox', { name: 'Search mail' }).press('Enter');
    await messages.getByRole('heading', { name: 'Results for “quokkafest”' }).waitFor({ timeout: 60_000 });
    const hit = messages.getByRole('button', { name: /^Agenda attached from erin@outside\.example/ });
    await hit.waitFor();
    // The hit is opened on the device, then shown with what the list shows (starred said in words).
    await expect.poll(() => hit.textContent(), { timeout: 30_000 }).toContain('Agenda attached from erin@outside.example, starred');
    await hit.getByText('The agenda for quokkafest is attached.').waitFor();
    await hit.getByText('Events', { exact: true }).waitFor();
    await hit.getByText('Server Encrypted', { exact: true }).waitFor();
    await hit.locator('svg[role="img"][aria-label="1 attachment"]').waitFor();
    problems.push(...(await auditSizes(page, 'reading-2-search-hit')));

    // A draft with a recipient: the Drafts list says whom it is to.
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    const compose = page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Unfinished thoughts');
    await compose.getByRole('textbox', { name: 'Message' }).pressSequentially('To be continued');
    await compose.getByRole('status').getByText(/Draft saved/).waitFor({ timeout: 30_000 });
    await compose.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Drafts/ }).click();
    const draft = messages.getByRole('button', { name: /Unfinished thoughts/ });
    await draft.getByText(`To: ${BOB}`, { exact: true }).waitFor();

    expect(notFound).toEqual([]);
    expect(errors).toEqual([]);
  });

  afterAll(() => {
    if (problems.length) console.error(problems.join('\n'));
  });
  it('no reading screen scrolls sideways or has a serious or critical accessibility violation', () => {
    expect(problems).toEqual([]);
  });
});
