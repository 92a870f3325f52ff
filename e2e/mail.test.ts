/**
 * End-to-end-encrypted mail in the web client, on the start command's stack, in Chromium: Alice
 * and Bob in two browser profiles. Alice writes Bob a mail with a 20 MB attachment and a canary
 * in subject and body; Bob sees it arrive without reloading, reads it (labelled "E2E Encrypted"),
 * downloads the attachment (same SHA-256) and replies; Alice sees the conversation. Afterwards
 * no canary is in any table of the database, in the server's output, or in any file the server
 * wrote (its whole data folder, Postgres files and WAL included), nor in any request the
 * browsers sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDb } from '@sealmail/db';
import { confirmBackupKey, freePort, launchChromium, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const sent: string[] = [];
const errors: string[] = [];
const remoteAttempts: { who: string; url: string; outcome: string }[] = [];
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CANARY_SUBJECT = `canary-subj-${randomBytes(6).toString('hex')}`;
const CANARY_BODY = `canary-body-${randomBytes(6).toString('hex')}`;
const CANARY_FILE = `canary-file-${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  // DNS is outside this machine: the stack answers from a table (SEALMAIL_DNS_TABLE, test-only).
  // The outside recipient's domain has a mail host on loopback where nothing listens, so the
  // link's notice stays queued (connection refused: tried again later) for as long as the test
  // looks at it. Real DNS answered partner.invalid with NXDOMAIN, which bounces the notice at once,
  // and a loaded run could see the bounce before it looked.
  const dnsFile = join(dataDir, 'dns-table.json');
  await writeFile(dnsFile, JSON.stringify({ 'MX partner.invalid': [{ exchange: '127.0.0.1', priority: 10 }] }));
  running = await startSealmail({ ...env, SEALMAIL_DNS_TABLE: dnsFile, SEALMAIL_RELAY_ALLOW_PRIVATE: 'true', SEALMAIL_RELAY_PORT: String(await freePort()) });
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
    const body = r.postDataBuffer();
    sent.push(`${r.method()} ${r.url()} ${body ? body.toString('latin1') : ''}`);

  });
  // Attempts at remote hosts, and how they ended (CSP blocks show up as failed requests).
  context.on('requestfailed', (r) => r.url().includes('.invalid') && remoteAttempts.push({ who: address, url: r.url(), outcome: r.failure()?.errorText ?? '' }));
  context.on('requestfinished', (r) => r.url().includes('.invalid') && remoteAttempts.push({ who: address, url: r.url(), outcome: 'loaded' }));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return { context, page };
}

/** Every file under a folder, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

let alice: { context: BrowserContext; page: Page };
let bob: { context: BrowserContext; page: Page };

describe('mail in the web client', () => {
  it('alice sends bob 20 MB with canaries; bob reads, downloads, replies; alice sees the thread; nothing leaked', async () => {
    alice = await signedIn(ALICE);
    bob = await signedIn(BOB);

    // A 20 MB attachment with a canary in it.
    const file = Buffer.concat([Buffer.from(CANARY_FILE), randomBytes(20 * 1000 * 1000 - CANARY_FILE.length)]);
    const fileHash = createHash('sha256').update(file).digest('hex');

    // Alice composes (keyboard shortcut c) and sends.
    await alice.page.keyboard.press('c');
    const compose = alice.page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill(`Plans ${CANARY_SUBJECT}`);
    await compose.getByRole('textbox', { name: 'Message' }).fill(`Hi Bob,\n${CANARY_BODY}\nAlice`);
    await compose.locator('label.attach input[type=file]').setInputFiles({ name: 'plans.bin', mimeType: 'application/octet-stream', buffer: file });
    await compose.getByRole('button', { name: 'Send' }).click();
    // While it uploads, how much of the attachment the server has taken (about a second here).
    await compose.getByText(/^Attachments: .+ of 19 MB uploaded$/).waitFor({ timeout: 60_000 });
    await alice.page.getByRole('status').getByText('Sent.').waitFor({ timeout: 120_000 });

    // Bob's open inbox shows it without a reload (server-sent events), labelled E2E.
    const row = bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: new RegExp(`Unread: Plans ${CANARY_SUBJECT}`) });
    await row.waitFor({ timeout: 60_000 });
    await expect(row.getByText('E2E Encrypted').count()).resolves.toBe(1);
    await row.click();
    const message = bob.page.getByRole('article', { name: `Message from ${ALICE}` });
    // Rich text: the sanitised HTML body sits in a sandboxed frame.
    await message.frameLocator('iframe.html-body').getByText(CANARY_BODY).waitFor();
    await message.getByText('E2E Encrypted').waitFor();
    await message.getByText(`Signed by one of ${ALICE}'s devices.`).waitFor();

    // The attachment, decrypted on Bob's device, is Alice's file byte for byte.
    const [download] = await Promise.all([bob.page.waitForEvent('download', { timeout: 120_000 }), message.getByRole('button', { name: 'Download plans.bin' }).click()]);
    expect(download.suggestedFilename()).toBe('plans.bin');
    const got = await readFile((await download.path())!);
    expect(createHash('sha256').update(got).digest('hex')).toBe(fileHash);

    // Bob replies (shortcut r); Alice sees both in one conversation.
    await bob.page.keyboard.press('r');
    const reply = bob.page.getByRole('dialog', { name: 'Compose' });
    await expect(reply.getByLabel('To', { exact: true }).inputValue()).resolves.toBe(ALICE);
    await reply.getByRole('textbox', { name: 'Message' }).pressSequentially('Sounds good. ');
    await reply.getByRole('button', { name: 'Send' }).click();
    await bob.page.getByRole('status').getByText('Sent.').waitFor({ timeout: 60_000 });

    const replyRow = alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: new RegExp(`Unread: Re: Plans ${CANARY_SUBJECT}`) });
    await replyRow.waitFor({ timeout: 60_000 });
    await replyRow.click();
    const pane = alice.page.getByRole('region', { name: 'Reading pane' });
    await pane.getByRole('article', { name: `Message from ${BOB}` }).frameLocator('iframe.html-body').getByText('Sounds good.').waitFor();
    // The older message of the conversation is collapsed to a line; a click opens it.
    await pane.getByRole('button', { name: /Hi Bob/, expanded: false }).click();
    await pane.getByRole('article', { name: `Message from ${ALICE}` }).frameLocator('iframe.html-body').getByText(CANARY_BODY).waitFor();
    // Search on the device: Alice finds the mail by a word of its body (her index, in her browser).
    await alice.page.keyboard.press('Escape');
    await alice.page.getByRole('searchbox', { name: 'Search mail' }).fill(CANARY_BODY);
    await alice.page.getByRole('searchbox', { name: 'Search mail' }).press('Enter');
    await alice.page.getByRole('heading', { name: `Results for “${CANARY_BODY}”` }).waitFor({ timeout: 60_000 });
    const results = alice.page.getByRole('region', { name: 'Messages' });
    // The original (her Sent copy) and Bob's reply, which quotes it.
    await results.getByRole('button', { name: new RegExp(`^Re: Plans ${CANARY_SUBJECT} from ${BOB}`) }).waitFor();
    const found = results.getByRole('button', { name: new RegExp(`^Plans ${CANARY_SUBJECT} from ${ALICE}`) }).first();
    await found.waitFor();
    await found.click();
    // The conversation opens with her (read) message folded when Bob's reply is the newest; a click opens it.
    const mine = alice.page.getByRole('article', { name: `Message from ${ALICE}` }).frameLocator('iframe.html-body').getByText(CANARY_BODY);
    const folded = pane.getByRole('button', { name: /Hi Bob/, expanded: false });
    await expect
      .poll(
        async () => {
          if (await mine.isVisible()) return true;
          if (await folded.isVisible()) await folded.click({ timeout: 5000 }).catch(() => undefined);
          return false;
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(true);
    // Sent holds Alice's copy.
    await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Sent' }).click();
    await alice.page.getByRole('region', { name: 'Messages' }).getByRole('heading', { name: 'Sent' }).waitFor();
    await expect.poll(() => alice.page.getByRole('region', { name: 'Messages' }).getByRole('listitem').count()).toBe(1);
    await alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: new RegExp(`Plans ${CANARY_SUBJECT}`) }).waitFor();

    // Nothing leaked: the database (every table), the server's output, its files, the requests.
    const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
    const db = createDb(url);
    try {
      const tables = await db.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
      expect(tables.length).toBeGreaterThan(10);
      const messages = await db.message.count();
      expect(messages).toBe(2);
      for (const { tablename } of tables) {
        const dump = (await db.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`)).map((r) => r.t).join('\n');
        for (const canary of [CANARY_SUBJECT, CANARY_BODY, CANARY_FILE]) {
          expect(dump.includes(canary), `${canary} in table ${tablename}`).toBe(false);
          expect(dump.includes(Buffer.from(canary).toString('hex')), `${canary} (hex) in table ${tablename}`).toBe(false);
        }
      }
    } finally {
      await db.$disconnect();
    }
    const output = running.output();
    const files = await filesUnder(dataDir);
    expect(files.some((f) => f.includes(join('pg', 'pg_wal')))).toBe(true);
    for (const canary of [CANARY_SUBJECT, CANARY_BODY, CANARY_FILE]) {
      expect(output.includes(canary), `${canary} in server output`).toBe(false);
      expect(sent.some((r) => r.includes(canary)), `${canary} in a request`).toBe(false);
      const needle = Buffer.from(canary);
      for (const f of files) expect((await readFile(f)).includes(needle), `${canary} in ${f}`).toBe(false);
    }
    // The requests did carry the mail (the check above is not vacuous): ≥ 20 MB went up as ciphertext.
    expect(sent.filter((r) => r.includes('/api/v1/blobs/') && r.startsWith('PUT')).length).toBeGreaterThanOrEqual(5);
    expect(errors).toEqual([]);
  });

  it('HTML mail is defanged: no script runs, no remote content is fetched (EFAIL-class)', async () => {
    const before = sent.length;
    await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    const compose = alice.page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Newsletter');
    // The demo domain has not chosen its policy (secure by default): outsiders would get a link
    // unless the sender picks standard mail.
    await expect.poll(() => compose.getByRole('radio', { name: /an expiring link/ }).isChecked()).toBe(true);
    expect(await compose.getByRole('radio', { name: /standard mail/ }).isChecked()).toBe(false);
    // What a hostile HTML body could carry (set as the editor's HTML, as a pasted page would be).
    await compose.getByRole('textbox', { name: 'Message' }).evaluate((el) => {
      el.innerHTML =
        '<p>Visible text</p><img src="https://tracker.invalid/pixel.png" alt="pixel"><img src="x" onerror="top.document.title=\'pwned\'">' +
        '<script>top.document.title="pwned"</script><a href="https://phish.invalid/">link</a><form action="https://steal.invalid/"><input name="q"></form>';
    });
    await compose.getByRole('button', { name: 'Send' }).click();
    await alice.page.getByRole('status').getByText('Sent.').waitFor({ timeout: 60_000 });

    await bob.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Inbox' }).click();
    const row = bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Unread: Newsletter/ });
    await row.waitFor({ timeout: 60_000 });
    await row.click();
    const frame = bob.page.getByRole('article', { name: `Message from ${ALICE}` }).frameLocator('iframe.html-body');
    await frame.getByText('Visible text').waitFor();
    await bob.page.waitForTimeout(1000); // give a pixel or a handler time to fire, were they allowed
    const html = await frame.locator('body').innerHTML();
    expect(html).not.toMatch(/<script|onerror|<form|<input/i);
    expect(await bob.page.title()).not.toBe('pwned');
    // No scripts, forms, popups or navigation; same-origin only so the page can size the frame to its content.
    expect(await bob.page.getByRole('article', { name: `Message from ${ALICE}` }).locator('iframe.html-body').getAttribute('sandbox')).toBe('allow-same-origin');
    // The reader's browser never even tried a remote host; the composer's (pasted HTML) was blocked by CSP.
    expect(remoteAttempts.filter((a) => a.who === BOB)).toEqual([]);
    for (const a of remoteAttempts) expect(a.outcome, a.url).toMatch(/^csp$|BLOCKED_BY_CSP/);
    expect(sent.slice(before).some((r) => r.includes('/api/v1/mail/messages'))).toBe(true);
  });

  it('drafts, labels, image preview, and a tampered mail shown as an error with nothing of it', async () => {
    // A draft is saved while typing — formatting, an attachment and an image in the text with it —
    // and reopened later with all of it, then sent.
    await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    let compose = alice.page.getByRole('dialog', { name: 'Compose' });
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Holiday photo');
    let editor = compose.getByRole('textbox', { name: 'Message' });
    await editor.pressSequentially('Look at this');
    await compose.locator('label.attach input[type=file]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png });
    const [chooser] = await Promise.all([alice.page.waitForEvent('filechooser'), compose.getByRole('button', { name: 'Insert an image into the text' }).click()]);
    await chooser.setFiles({ name: 'beach.png', mimeType: 'image/png', buffer: png });
    await editor.locator('img[alt="beach.png"]').waitFor();
    await editor.click();
    await alice.page.keyboard.press('Control+End');
    await alice.page.keyboard.press('Control+b');
    await alice.page.keyboard.type(' sunny');
    // The status says "saved" only for a save made after the last change.
    await compose.getByRole('status').getByText(/Draft saved/).waitFor({ timeout: 30_000 });
    // Saved again after more typing: the attached file is kept, not sealed and uploaded again
    // (docs/mail.md "Drafts"): the new save's first piece is the same blob, under the same message id.
    const draftDb = createDb(`postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`);
    let keptBlob: string;
    let keptImage: string;
    try {
      const firstPiece = async () => {
        const entry = await draftDb.mailboxEntry.findFirstOrThrow({ where: { folder: 'drafts', user: { localPart: 'alice' } }, include: { message: { select: { mailId: true } } } });
        const blob = await draftDb.blob.findFirstOrThrow({ where: { messageId: entry.messageId, pieceIndex: 1 } });
        // The image in the text (the second piece) is kept as well.
        const image = await draftDb.blob.findFirstOrThrow({ where: { messageId: entry.messageId, pieceIndex: 2 } });
        return { entry: entry.id, mailId: entry.message.mailId, blob: blob.id, image: image.id };
      };
      const saved = await firstPiece();
      await alice.page.keyboard.type(' and warm');
      await compose.getByRole('status').getByText(/Draft saved/).waitFor({ state: 'detached' });
      await compose.getByRole('status').getByText(/Draft saved/).waitFor({ timeout: 30_000 });
      const again = await firstPiece();
      expect(again.entry).not.toBe(saved.entry);
      expect(again).toMatchObject({ mailId: saved.mailId, blob: saved.blob, image: saved.image });
      keptBlob = saved.blob;
      keptImage = saved.image;
    } finally {
      await draftDb.$disconnect();
    }
    await compose.getByRole('button', { name: 'Close' }).click();
    await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Drafts/ }).click();
    await alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Holiday photo/ }).click();
    await alice.page.getByRole('button', { name: 'Edit draft' }).click();
    compose = alice.page.getByRole('dialog', { name: 'Compose' });
    editor = compose.getByRole('textbox', { name: 'Message' });
    await expect(compose.getByLabel('To', { exact: true }).inputValue()).resolves.toBe(BOB);
    await expect.poll(() => editor.innerText(), { timeout: 30_000 }).toContain('Look at this');
    await editor.locator('b, strong').getByText('sunny').waitFor();
    await expect(editor.innerText()).resolves.toContain('and warm');
    // The image is in the text again (opened from its sealed part on this device), the file attached again.
    const beach = editor.locator('img[alt="beach.png"]');
    await expect.poll(() => beach.evaluate((i: HTMLImageElement) => (i.complete && i.src.startsWith('blob:') ? i.naturalWidth : 0)), { timeout: 30_000 }).toBe(1);
    await compose.getByRole('button', { name: 'Remove photo.png' }).waitFor();
    await compose.getByRole('button', { name: 'Send' }).click();
    await alice.page.getByRole('status').getByText('Sent.').waitFor({ timeout: 60_000 });
    await alice.page.getByRole('region', { name: 'Messages' }).getByText('No messages.').waitFor(); // the draft is gone
    // Edit draft continued the draft: the sent mail carries the attachment the first save uploaded.
    const sentDb = createDb(`postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`);
    try {
      const kept = await sentDb.blob.findUniqueOrThrow({ where: { id: keptBlob } });
      expect(await sentDb.mailboxEntry.findFirst({ where: { messageId: kept.messageId!, folder: 'sent' } })).not.toBeNull();
      expect(await sentDb.blob.findUnique({ where: { id: keptImage } })).toMatchObject({ messageId: kept.messageId, pieceIndex: 2 });
    } finally {
      await sentDb.$disconnect();
    }

    // Bob previews the image inline, decrypted on his device.
    await bob.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Inbox' }).click();
    await bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Holiday photo/ }).click();
    const msg = bob.page.getByRole('article', { name: `Message from ${ALICE}` });
    await msg.getByRole('button', { name: 'Preview photo.png' }).click();
    const img = msg.getByRole('img', { name: 'photo.png' });
    await img.waitFor();
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(1);
    // The image in the text arrived in place, drawn from its sealed part.
    const inText = msg.frameLocator('iframe.html-body').locator('img[alt="beach.png"]');
    await expect.poll(() => inText.evaluate((i: HTMLImageElement) => (i.complete && i.src.startsWith('data:image/png;base64,') ? i.naturalWidth : 0)), { timeout: 30_000 }).toBe(1);

    // Labels: created with a sealed name, applied, and used as a view.
    await bob.page.getByLabel('New label').fill('Projekte Ä');
    await bob.page.getByLabel('New label').press('Enter');
    const labelButton = bob.page.getByRole('list', { name: 'Labels' }).getByRole('button', { name: 'Projekte Ä' });
    await labelButton.waitFor();
    await bob.page.getByRole('toolbar', { name: 'Message actions' }).getByLabel('Label').selectOption({ label: 'Projekte Ä' });
    await bob.page.getByRole('region', { name: 'Messages' }).getByText('Projekte Ä').waitFor();
    await labelButton.click();
    await bob.page.getByRole('heading', { name: 'Projekte Ä' }).waitFor();
    await expect.poll(() => bob.page.getByRole('region', { name: 'Messages' }).getByRole('listitem').count()).toBe(1);

    // Someone with database access flips a byte of that mail's body and of its sealed summary (the
    // list shows rows from summaries, docs/crypto.md §5.15): Bob sees an error, nothing of it.
    const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
    const db = createDb(url);
    try {
      const m = await db.message.findFirstOrThrow({ where: { attachmentSizes: { has: BigInt(png.length) } } });
      await db.$executeRaw`UPDATE messages SET body = set_byte(body, 120, get_byte(body, 120) # 1), summary = set_byte(summary, 70, get_byte(summary, 70) # 1) WHERE id = ${m.id}::uuid`;
    } finally {
      await db.$disconnect();
    }
    await bob.page.reload();
    await bob.page.getByRole('navigation', { name: 'Folders' }).waitFor();
    const bad = bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: 'Message that could not be decrypted' });
    await bad.waitFor();
    await expect(bob.page.getByRole('region', { name: 'Messages' }).getByText('Holiday photo').count()).resolves.toBe(0);
    await bad.click();
    await bob.page.getByRole('region', { name: 'Reading pane' }).getByRole('alert').first().waitFor();
    await expect(bob.page.getByText('Look at this').count()).resolves.toBe(0);
  });

  it('mail from outside arrives over SMTP, sealed by the server: labelled "Server Encrypted", nothing of it left in plaintext', async () => {
    const canary = `canary-inbound-${randomBytes(6).toString('hex')}`;
    const transport = await stackTransport(dataDir, ports.smtp);
    const info = await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to: BOB, subject: `From outside ${canary}`, text: `Hello from the internet, ${canary}` });
    expect(info.response).toMatch(/^250 /);
    // Bob's open inbox shows it without a click: the ingress announced it through Postgres NOTIFY.
    const row = bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: new RegExp(`From outside ${canary}`) });
    await row.waitFor({ timeout: 30_000 });
    await expect(row.getByText('Server Encrypted').count()).resolves.toBe(1);
    await row.click();
    const msg = bob.page.getByRole('article', { name: 'Message from erin@outside.example' });
    await msg.getByText(`Hello from the internet, ${canary}`).waitFor();
    await msg.getByText('Server Encrypted').waitFor();
    await expect(msg.getByRole('alert').count()).resolves.toBe(0);
    // Gone from everything the server keeps once delivered: tables, output, files.
    const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
    const db = createDb(url);
    try {
      const tables = await db.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
      for (const { tablename } of tables) {
        const dump = (await db.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`)).map((r) => r.t).join('\n');
        expect(dump.includes(canary), `inbound canary in ${tablename}`).toBe(false);
      }
    } finally {
      await db.$disconnect();
    }
    expect(running.output().includes(canary)).toBe(false);
    for (const f of await filesUnder(dataDir)) expect((await readFile(f)).includes(Buffer.from(canary)), f).toBe(false);
  });

  it('an outside recipient gets an expiring link by default; the Sent copy shows its state', async () => {
    // Its mail host refuses connections (beforeAll): the relay keeps the notice queued, nothing leaves this machine.
    await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    const compose = alice.page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill('carol@partner.invalid');
    await compose.getByLabel('Subject').fill('Offer for Carol');
    await compose.getByRole('textbox', { name: 'Message' }).pressSequentially('Our offer');
    await compose.getByLabel('Link works for').selectOption('1d');
    await compose.getByRole('button', { name: 'Send' }).click();
    // The window closes once it is sent (an earlier "Sent." may still be on screen).
    await compose.waitFor({ state: 'detached', timeout: 60_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; compose says: ${await compose.getByRole('alert').allInnerTexts()}`);
    });
    await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Sent' }).click();
    await alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Offer for Carol/ }).click();
    const outside = alice.page.getByRole('region', { name: 'Outside recipients' });
    await outside.getByText(/carol@partner\.invalid: expiring link until .* — not opened yet — notice on its way/).waitFor({ timeout: 90_000 });
    const url = `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`;
    const db = createDb(url);
    try {
      const link = await db.mailLink.findFirstOrThrow({ where: { recipient: 'carol@partner.invalid' } });
      // One day, by the server's clock; the password only boxed to the server's key while the notice waits.
      expect(link.expiresAt.getTime() - link.createdAt.getTime()).toBe(86_400_000);
      expect(link.secretBox).not.toBeNull();
    } finally {
      await db.$disconnect();
    }
  });
});
