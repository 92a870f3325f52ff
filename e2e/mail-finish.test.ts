/**
 * The last of issue 15 in Chromium on the start command's stack (docs/mail.md "Inline images",
 * "Organising mail"): Alice puts two images into a mail's text (the Image button's file picker
 * and a paste) and Bob sees them in the sandboxed HTML frame, drawn from the mail's own sealed
 * parts (data: URLs, nothing fetched); Bob forwards a mail with an attachment as an attached
 * message and Alice opens it in her reader and downloads its attachment with the same bytes;
 * Bob reports a sender as spam, then not spam, and removes the entry in Settings; Bob renames and
 * deletes a label in Settings; a draft deleted on another device while its composer is open is
 * sent, after the composer says so, as a new mail. Screens audited with axe at desktop and phone sizes. Mail from
 * outside comes in over real SMTP (STARTTLS) to the ingress.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, screenshotsDir, launchChromium, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const problems: string[] = [];

beforeAll(async () => {
  running = await startSealmail(env, 400_000);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
}, 420_000);
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function signIn(address: string): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return page;
}

let alice: Page;
let bob: Page;
const row = (page: Page, subject: string) => page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: new RegExp(subject) });
const openFolder = async (page: Page, name: string) => {
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: new RegExp(`^${name}`) }).click();
  await page.getByRole('region', { name: 'Messages' }).getByRole('heading', { name, level: 2 }).waitFor();
};
const openSettings = async (page: Page) => {
  await page.getByRole('button', { name: /^Account: / }).click();
  await page.getByRole('menuitem', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
};
const backToMail = async (page: Page) => {
  await page.getByRole('button', { name: 'Back to mail' }).click();
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
};

describe('issue 15, the rest, in the browser', () => {
  it('Alice puts an image into the text with the Image button and another by pasting; Bob sees both from the mail’s own parts', async () => {
    alice = await signIn(ALICE);
    bob = await signIn(BOB);
    // Real PNG files: two pieces of the page drawn by Chromium.
    const picked = await alice.screenshot({ clip: { x: 0, y: 0, width: 40, height: 30 } });
    const pasted = await alice.screenshot({ clip: { x: 100, y: 100, width: 24, height: 24 } });

    await alice.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    const compose = alice.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Office plan');
    const editor = compose.getByLabel('Message', { exact: true });
    await editor.fill('The new plan: ');
    const [chooser] = await Promise.all([alice.waitForEvent('filechooser'), compose.getByRole('button', { name: 'Insert an image into the text' }).click()]);
    await chooser.setFiles({ name: 'plan.png', mimeType: 'image/png', buffer: picked });
    await editor.locator('img[alt="plan.png"]').waitFor();
    // A paste of an image file, as the clipboard hands it over.
    await editor.evaluate((el, bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'pasted.png', { type: 'image/png' }));
      el.focus();
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, [...pasted]);
    await editor.locator('img[alt="pasted.png"]').waitFor();
    problems.push(...(await auditSizes(alice, 'inline-image-compose')));
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.waitFor({ state: 'detached', timeout: 60_000 });

    await row(bob, 'Office plan').waitFor({ timeout: 60_000 });
    await row(bob, 'Office plan').click();
    const message = bob.getByRole('article', { name: `Message from ${ALICE}` });
    const frame = message.frameLocator('iframe.html-body');
    for (const alt of ['plan.png', 'pasted.png']) {
      const img = frame.locator(`img[alt="${alt}"]`);
      await img.waitFor({ timeout: 30_000 });
      // Drawn from the sealed part (a data: URL made on Bob's device), not fetched from anywhere.
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => (i.complete && i.src.startsWith('data:image/png;base64,') ? i.naturalWidth : 0)), { timeout: 30_000 }).toBeGreaterThan(0);
    }
    // Shown in place, so not listed again as files.
    await expect.poll(() => message.getByRole('list', { name: 'Attachments' }).count(), { timeout: 10_000 }).toBe(0);
    problems.push(...(await auditSizes(bob, 'inline-image-reader')));
  }, 300_000);

  it('Bob forwards a mail with an attachment as an attached message; Alice opens it and downloads the attachment with the same bytes', async () => {
    const bytes = randomBytes(150_000);
    const transport = await stackTransport(dataDir, ports.smtp);
    await transport.sendMail({ from: 'billing@shop.example', to: BOB, subject: 'Scan attached', text: 'The scan is attached.', attachments: [{ filename: 'scan.bin', content: bytes, contentType: 'application/octet-stream' }] });
    await row(bob, 'Scan attached').waitFor({ timeout: 60_000 });
    await row(bob, 'Scan attached').click();
    await bob.getByRole('article', { name: 'Message from billing@shop.example' }).waitFor({ timeout: 30_000 });
    await bob.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Forward as attachment' }).click();
    const compose = bob.getByRole('dialog', { name: 'Compose' });
    await compose.getByRole('list', { name: 'Attachments' }).getByText('Scan attached.eml').waitFor({ timeout: 30_000 });
    await expect.poll(() => compose.getByLabel('Subject').inputValue(), { timeout: 10_000 }).toBe('Fwd: Scan attached');
    await compose.getByLabel('To', { exact: true }).fill(ALICE);
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.waitFor({ state: 'detached', timeout: 60_000 });

    await row(alice, 'Fwd: Scan attached').waitFor({ timeout: 60_000 });
    await row(alice, 'Fwd: Scan attached').click();
    const message = alice.getByRole('article', { name: `Message from ${BOB}` });
    await message.getByRole('button', { name: 'Open the attached message Scan attached.eml' }).click({ timeout: 30_000 });
    await message.getByText('The scan is attached.').waitFor({ timeout: 30_000 });
    problems.push(...(await auditSizes(alice, 'forward-attached-open')));
    const [download] = await Promise.all([alice.waitForEvent('download', { timeout: 60_000 }), message.getByRole('button', { name: 'Download scan.bin' }).click()]);
    const got = await readFile((await download.path())!);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  }, 300_000);

  it('Bob reports a sender as spam, then not spam; Settings lists each verdict and removes it', async () => {
    await openFolder(bob, 'Inbox');
    await row(bob, 'Scan attached').click();
    await bob.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Report spam' }).click();
    await row(bob, 'Scan attached').waitFor({ state: 'detached', timeout: 30_000 });

    await openSettings(bob);
    const section = bob.getByRole('region', { name: 'Reported and allowed senders' });
    await section.getByRole('list', { name: 'Reported as spam' }).getByText('billing@shop.example').waitFor({ timeout: 30_000 });
    await section.getByText('You have allowed no sender.').waitFor();
    await backToMail(bob);

    await openFolder(bob, 'Spam');
    await row(bob, 'Scan attached').click();
    await bob.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Not spam' }).click();
    await row(bob, 'Scan attached').waitFor({ state: 'detached', timeout: 30_000 });

    await openSettings(bob);
    await section.getByRole('list', { name: 'Allowed (not spam)' }).getByText('billing@shop.example').waitFor({ timeout: 30_000 });
    await section.getByText('You have reported no sender.').waitFor();
    await section.scrollIntoViewIfNeeded();
    problems.push(...(await auditSizes(bob, 'settings-sender-verdicts')));
    // The page is long: the section itself at desk size, to look at.
    await section.screenshot({ path: join(screenshotsDir, 'settings-sender-verdicts-section-1280x800.png') });
    await section.getByRole('button', { name: 'Remove billing@shop.example' }).click();
    await section.getByRole('status').getByText('billing@shop.example removed').waitFor({ timeout: 30_000 });
    await section.getByText('You have allowed no sender.').waitFor();
    await backToMail(bob);
  }, 300_000);

  it('Bob renames a label and deletes it (after confirming) in Settings; the sidebar follows', async () => {
    const nav = bob.getByRole('navigation', { name: 'Folders' });
    await nav.getByLabel('New label').fill('Projects');
    await nav.getByLabel('New label').press('Enter');
    await nav.getByRole('button', { name: 'Projects' }).waitFor({ timeout: 30_000 });

    await openSettings(bob);
    const section = bob.getByRole('region', { name: 'Labels' });
    const labels = section.getByRole('list', { name: 'Labels' });
    await labels.getByText('Projects', { exact: true }).waitFor({ timeout: 30_000 });
    // Keyboard: focus Rename, press Enter, type the new name, Enter.
    await section.getByRole('button', { name: 'Rename the label Projects' }).focus();
    await bob.keyboard.press('Enter');
    const field = section.getByLabel('New name');
    await field.waitFor();
    await field.fill('Projects 2027');
    await section.scrollIntoViewIfNeeded();
    problems.push(...(await auditSizes(bob, 'settings-labels-rename')));
    await field.press('Enter');
    await labels.getByText('Projects 2027', { exact: true }).waitFor({ timeout: 30_000 });

    await section.getByRole('button', { name: 'Delete the label Projects 2027' }).click();
    const confirm = section.getByRole('group', { name: 'Delete the label Projects 2027' });
    await confirm.getByText('Delete the label “Projects 2027”? It comes off every message.').waitFor();
    problems.push(...(await auditSizes(bob, 'settings-labels-delete')));
    await section.screenshot({ path: join(screenshotsDir, 'settings-labels-section-1280x800.png') });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await section.getByText('You have no labels yet.', { exact: false }).waitFor({ timeout: 30_000 });

    await backToMail(bob);
    await expect.poll(() => bob.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Projects/ }).count(), { timeout: 30_000 }).toBe(0);
    expect(problems).toEqual([]);
  }, 300_000);

  it('a draft deleted on another device: Send says so and sends nothing; Send again sends it as a new mail', async () => {
    await alice.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    const compose = alice.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(BOB);
    await compose.getByLabel('Subject').fill('Written here');
    await compose.getByLabel('Message', { exact: true }).fill('Deleted there, sent from here.');
    await compose.getByText(/^Draft saved/).waitFor({ timeout: 30_000 });
    // Another device of Alice's deletes the draft (through the API, as her phone would).
    const deleted = await alice.evaluate(async () => {
      const { rows } = (await (await fetch('/api/v1/mail/rows?folder=drafts&limit=10')).json()) as { rows: { id: string }[] };
      for (const r of rows) await fetch(`/api/v1/mail/messages/${r.id}`, { method: 'DELETE' });
      return rows.length;
    });
    expect(deleted).toBe(1);
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.getByText('This draft was deleted or saved again on another device, so nothing was sent. Press Send again to send it as a new mail.').waitFor({ timeout: 60_000 });
    expect(await compose.getByText(/^Draft saved/).count()).toBe(0); // the saved draft is gone: not claimed any more
    problems.push(...(await auditSizes(alice, 'compose-draft-gone')));
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.waitFor({ state: 'detached', timeout: 60_000 });
    await openFolder(bob, 'Inbox');
    await row(bob, 'Written here').waitFor({ timeout: 60_000 });
    expect(await row(bob, 'Written here').count()).toBe(1);
    expect(problems).toEqual([]);
  }, 180_000);
});
