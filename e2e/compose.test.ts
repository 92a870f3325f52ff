/**
 * Compose in the web client, on the start command's stack, in Chromium (docs/mail.md "Compose"):
 * Alice sets an undo-send delay, a signature and a template (canaries in both) in Settings; a
 * sent mail is undone from the toast (nothing delivered, the composer back with everything in it);
 * a mail merge of five rows (and one bad row, flagged and not sent) arrives as five individually
 * sealed mails; a mail scheduled for later leaves at its time although Alice signed out.
 *
 * The API's clock is moved with the test-only `SEALMAIL_CLOCK_FILE` (milliseconds it runs ahead
 * of real time): the scheduled mail leaves when the server's clock passes its time, released by
 * the API's job sweep (every 30 s). The recipients are the real client package over HTTPS, each
 * with a device of their own, and open what they get.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ApiClient } from '@sealmail/client';
import { httpsFetch } from '@sealmail/client/node';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { createDb } from '@sealmail/db';
import { hashPassword } from '@sealmail/server';
import { auditSizes, confirmBackupKey, launchChromium, openSettings, printedPasswords, stackEnvironment, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
const clockFile = join(dataDir, 'clock-offset-ms');
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
let db: ReturnType<typeof createDb>;
const errors: string[] = [];
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CANARY_SIG = `canary-sig-${randomBytes(5).toString('hex')}`;
const CANARY_TPL = `canary-tpl-${randomBytes(5).toString('hex')}`;
const MERGE = [1, 2, 3, 4, 5].map((i) => ({ address: `merge${i}@example.test`, name: `Person${i}`, code: `C-${i}${randomBytes(2).toString('hex')}` }));

beforeAll(async () => {
  await writeFile(clockFile, '0');
  running = await startSealmail({ ...env, SEALMAIL_CLOCK_FILE: clockFile });
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
  db = createDb(`postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'pg.password'), 'utf8')).trim())}@127.0.0.1:${ports.pg}/sealmail`);
  // Five more colleagues for the merge (made in the database as an admin would).
  const domain = await db.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  for (const m of MERGE) {
    passwords[m.address] = `pw-${randomBytes(8).toString('hex')}`;
    await db.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: m.address.split('@')[0]!, displayName: m.name, passwordHash: await hashPassword(passwords[m.address]!) } });
  }
}, 300_000);
afterAll(async () => {
  await db?.$disconnect();
  await browser?.close();
  await stopSealmail(running, dataDir);
});

/** A recipient's own device: the client package over HTTPS (their mail is opened and verified there). */
async function recipient(address: string) {
  const ca = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8');
  const base = `https://127.0.0.1:${ports.api}`;
  const { token } = await new ApiClient({ baseUrl: base, fetch: httpsFetch(ca) }).signIn(address, passwords[address]!);
  const api = new ApiClient({ baseUrl: base, fetch: httpsFetch(ca), token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address, name: 'Script', kind: 'cli' });
  return { api, mail: new Mailer(api, identity, address) };
}

async function inboxOf(r: Awaited<ReturnType<typeof recipient>>) {
  return (await r.mail.list({ folder: 'inbox' })).items.flatMap((i) => ('subject' in i ? [i] : []));
}

const pad = (n: number) => String(n).padStart(2, '0');
const localInput = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

describe('compose in the web client', () => {
  let page: Page;

  it('undo send, a five-row mail merge, and a scheduled mail that leaves at its time with the sender signed out', { timeout: 900_000 }, async () => {
    const bob = await recipient(BOB);
    const merged = await Promise.all(MERGE.map((m) => recipient(m.address)));

    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`https://localhost:${ports.web}/`);
    await page.getByLabel('E-mail address').fill(ALICE);
    await page.getByLabel('Password').fill(passwords[ALICE]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();

    // Settings → Compose: a 10-second undo delay, a signature and a template (sealed on the device).
    await openSettings(page, 'Alice Example');
    const section = page.getByRole('region', { name: 'Compose' });
    await section.getByLabel('Undo send: hold sent mail for').selectOption('10');
    await section.getByRole('status').getByText('Saved.').waitFor();
    const sigForm = section.getByRole('form', { name: 'New signature' });
    await sigForm.getByLabel('Name').fill('Work');
    await sigForm.getByLabel('Text').fill(`Alice Example\n${CANARY_SIG}`);
    await sigForm.getByRole('button', { name: 'Add signature' }).click();
    await section.getByText('Default', { exact: true }).waitFor();
    const tplForm = section.getByRole('form', { name: 'New template' });
    await tplForm.getByLabel('Name').fill('Status');
    await tplForm.getByLabel('Subject').fill('Weekly status');
    await tplForm.getByLabel('Text').fill(`This week: ${CANARY_TPL}`);
    await tplForm.getByRole('button', { name: 'Add template' }).click();
    await section.getByText(`This week: ${CANARY_TPL}`).waitFor();
    expect(await auditSizes(page, 'compose-settings')).toEqual([]);
    await page.getByRole('button', { name: 'Back to mail' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();

    // Undo send: the default signature is in a new mail; Send holds it 10 s; Undo brings the composer back.
    await page.keyboard.press('c');
    const compose = page.getByRole('dialog', { name: 'Compose' });
    const editor = compose.getByRole('textbox', { name: 'Message' });
    await expect.poll(() => editor.innerText(), { timeout: 30_000 }).toContain(CANARY_SIG);
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Undo me');
    await editor.click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.type('Second thoughts. ');
    // A link through Ctrl+K.
    await page.keyboard.press('Control+k');
    const linkForm = compose.getByRole('group', { name: 'Link' });
    await linkForm.getByLabel('Web address').fill('https://example.test/plan');
    await linkForm.getByLabel('Text shown').fill('the plan');
    await linkForm.getByRole('button', { name: 'Insert link' }).click();
    await compose.locator('.editor a[href="https://example.test/plan"]').getByText('the plan').waitFor();
    await compose.getByRole('button', { name: 'Send', exact: true }).click();
    const toast = page.locator('.toasts');
    await toast.getByText('Sending in 10 seconds…').waitFor({ timeout: 60_000 });
    await toast.getByRole('button', { name: 'Undo' }).click();
    await compose.waitFor({ timeout: 30_000 });
    await expect.poll(() => compose.getByLabel('To', { exact: true }).inputValue()).toBe(BOB);
    await expect.poll(() => compose.getByLabel('Subject').inputValue()).toBe('Undo me');
    await expect.poll(() => editor.innerText()).toContain('Second thoughts.');
    await compose.locator('.editor a[href="https://example.test/plan"]').waitFor();
    const held = await db.scheduledSend.findMany({ where: { user: { localPart: 'alice' } } });
    expect(held.map((h) => h.status)).toEqual(['cancelled']);
    // Well past the delay, nothing reached Bob (the cancelled row is final: the job claims only "scheduled").
    await expect.poll(() => db.scheduledSend.count({ where: { status: 'sent' } }), { timeout: 15_000 }).toBe(0);
    expect(await inboxOf(bob)).toEqual([]);
    await compose.getByRole('button', { name: 'Close' }).click();
    await compose.waitFor({ state: 'detached' });

    // Mail merge: the mail being written is the template; six rows, one of them bad.
    await page.keyboard.press('c');
    await compose.getByLabel('Subject').fill('Hello {{name}}');
    await editor.fill('Dear {{name}}, your code is {{code}}.');
    await compose.getByRole('button', { name: 'Mail merge…' }).click();
    const merge = page.getByRole('dialog', { name: 'Mail merge' });
    const csv = ['email,name,code', ...MERGE.map((m) => `${m.address},${m.name},${m.code}`), 'not-an-address,Nobody,X'].join('\r\n');
    await merge.locator('input[type=file]').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await merge.getByText('5 of 6 rows ready').waitFor();
    await merge.getByText('"not-an-address" is not an e-mail address').waitFor();
    await merge.getByRole('cell', { name: 'Hello Person3' }).waitFor();
    expect(await auditSizes(page, 'compose-merge')).toEqual([]);
    await merge.getByRole('button', { name: 'Send 5 mails' }).click();
    await merge.getByText('Done: 5 sent, 0 failed, 1 not sent (see the table).').waitFor({ timeout: 300_000 });
    await merge.getByRole('button', { name: 'Close' }).click();
    await page.getByText('Mail merge: 5 mails sent.').waitFor();
    await compose.waitFor({ state: 'detached' });
    // Five mails, one per person, each sealed for that person only, each opened on their own device.
    for (const [i, m] of MERGE.entries()) {
      await expect.poll(async () => (await inboxOf(merged[i]!)).length, { timeout: 60_000 }).toBe(1);
      const [mail] = await inboxOf(merged[i]!);
      expect(mail!.subject).toBe(`Hello ${m.name}`);
      expect(mail!.protection).toBe('E2E Encrypted');
      expect(mail!.mime.text).toContain(`Dear ${m.name}, your code is ${m.code}.`);
      for (const other of MERGE.filter((o) => o !== m)) expect(mail!.mime.text).not.toContain(other.code);
    }
    const rows = await db.message.findMany({ where: { senderAddress: ALICE, toAddresses: { hasSome: MERGE.map((m) => m.address) } }, select: { mailId: true, toAddresses: true } });
    expect(rows.map((r) => r.toAddresses).sort()).toEqual(MERGE.map((m) => [m.address]));
    expect(new Set(rows.map((r) => r.mailId)).size).toBe(5);

    // Scheduled send: ten minutes ahead; it waits in the Outbox.
    await page.keyboard.press('c');
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Later hello');
    await editor.fill('Sent while I was away.');
    const at = new Date(Math.ceil((Date.now() + 10 * 60_000) / 60_000) * 60_000);
    await compose.getByRole('button', { name: 'Schedule…' }).click();
    await compose.getByLabel('Send at').fill(localInput(at));
    expect(await auditSizes(page, 'compose-schedule')).toEqual([]);
    await compose.getByRole('group', { name: 'Schedule…' }).getByRole('button', { name: 'Schedule', exact: true }).click();
    await page.locator('.toasts').getByText(/^Scheduled: it leaves/).waitFor({ timeout: 60_000 });
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Outbox/ }).click();
    const outboxRow = page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Later hello/ });
    await outboxRow.waitFor({ timeout: 30_000 });
    await outboxRow.click();
    await page.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Cancel sending' }).waitFor();
    expect(await auditSizes(page, 'compose-outbox')).toEqual([]);

    // Alice signs out; no session of hers is left.
    await page.getByRole('button', { name: /^Account: / }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByLabel('E-mail address').waitFor();
    expect(await db.session.count({ where: { user: { localPart: 'alice' }, revokedAt: null, expiresAt: { gt: new Date() } } })).toBe(0);
    expect((await inboxOf(bob)).map((m) => m.subject)).not.toContain('Later hello');

    // The server's clock passes the time: the job releases it to Bob, end to end encrypted.
    await writeFile(clockFile, String(at.getTime() - Date.now() + 60_000));
    await expect.poll(async () => (await inboxOf(bob)).map((m) => m.subject), { timeout: 120_000, interval: 2000 }).toContain('Later hello');
    const later = (await inboxOf(bob)).find((m) => m.subject === 'Later hello')!;
    expect(later.protection).toBe('E2E Encrypted');
    expect(later.warning).toBeNull();
    expect(later.mime.text).toContain('Sent while I was away.');
    expect(new Date(later.mime.date!).getTime()).toBe(at.getTime());
    expect((await db.scheduledSend.findMany({ where: { status: 'sent' } })).length).toBe(1);

    // Signature and template texts never reached the server in plaintext (every table, text and hex).
    const tables = await db.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    for (const { tablename } of tables) {
      const dump = (await db.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`)).map((r) => r.t).join('\n');
      for (const canary of [CANARY_SIG, CANARY_TPL]) {
        expect(dump.includes(canary), `${canary} in ${tablename}`).toBe(false);
        expect(dump.includes(Buffer.from(canary).toString('hex')), `${canary} (hex) in ${tablename}`).toBe(false);
      }
    }
    expect(await db.mailSignature.count()).toBe(1);
    expect(await db.mailTemplate.count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
