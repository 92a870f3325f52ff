/**
 * Delegation in Chromium on the start command's stack (issue 16): Alice grants Bob read and
 * send-as in Settings → Delegation; Bob switches to Alice's mailbox, reads her mail and sends as
 * her; Alice sees it labelled "sent by Bob on behalf of Alice"; Alice revokes and Bob loses the
 * mailbox. The admin creates a shared mailbox in the console and adds Bob, who then reads it from
 * his switcher. Screenshots of Settings → Delegation, the delegated mailbox, the reader's label and
 * the console's Shared mailboxes at both sizes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, launchChromium, openAdminSection, openSettings, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const errors: string[] = [];
let bob: Page;

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function signedIn(address: string): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return page;
}

describe('delegation in the browser', () => {
  it('Alice grants Bob; Bob reads and sends as Alice; she sees “on behalf of”; she revokes and Bob loses the mailbox', async () => {
    bob = await signedIn(BOB);
    const alice = await signedIn(ALICE);

    // Alice gives Bob read and send-as in Settings → Delegation.
    await openSettings(alice, 'Alice Example');
    const section = alice.getByRole('region', { name: 'Delegation' });
    await section.getByText('Nobody has access to your mailbox.').waitFor();
    await section.getByLabel('Address of the person').fill(BOB);
    await section.getByLabel('What they may do').selectOption('send');
    await section.getByRole('button', { name: 'Give access' }).click();
    await section.getByRole('status').getByText(`${BOB} now has access to your mailbox.`).waitFor({ timeout: 60_000 });
    await section.getByRole('list', { name: 'People with access to your mailbox' }).getByText(BOB).waitFor();
    await section.scrollIntoViewIfNeeded();
    expect(await auditSizes(alice, 'delegation-settings')).toEqual([]);

    // Mail for Alice from outside.
    const transport = await stackTransport(dataDir, ports.smtp);
    await transport.sendMail({ from: 'client@outside.example', to: ALICE, subject: 'Contract for Alice', text: 'Please sign the contract.' });

    // Bob (a fresh page load lists the mailboxes delegated to him) switches to Alice's mailbox.
    await bob.reload();
    await bob.getByRole('navigation', { name: 'Folders' }).waitFor();
    const switcher = bob.getByLabel('Mailbox', { exact: true });
    await expect.poll(() => switcher.locator('option').allInnerTexts(), { timeout: 60_000 }).toContain(ALICE);
    await switcher.selectOption({ label: ALICE });
    await bob.getByText(`You are in ${ALICE}’s mailbox.`, { exact: false }).waitFor({ timeout: 60_000 });
    const row = bob.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Contract for Alice/ });
    await row.waitFor({ timeout: 60_000 });
    await row.click();
    await bob.getByRole('article', { name: 'Message from client@outside.example' }).getByText('Please sign the contract.').waitFor({ timeout: 60_000 });
    expect(await auditSizes(bob, 'delegation-mailbox')).toEqual([]);

    // Bob sends as Alice (to Alice herself, who then reads it as a recipient would).
    await bob.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Compose' }).click();
    const compose = bob.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(ALICE);
    await compose.getByLabel('Subject').fill('Signed for you');
    await compose.getByRole('textbox', { name: 'Message' }).fill('I signed the contract on your behalf.');
    await compose.getByRole('button', { name: 'Send' }).click();
    await bob.getByRole('status').getByText('Sent.').waitFor({ timeout: 120_000 });

    await alice.getByRole('button', { name: 'Back to mail' }).click();
    await alice.getByRole('button', { name: /^Inbox/ }).click();
    const sent = alice.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Signed for you/ });
    await sent.waitFor({ timeout: 60_000 });
    await sent.getByText(`— sent by ${BOB} on behalf of ${ALICE}`).waitFor();
    await sent.click();
    const message = alice.getByRole('article', { name: `Message from ${ALICE}` });
    await message.getByText('E2E Encrypted').waitFor({ timeout: 60_000 });
    await message.getByText(`— sent by ${BOB} on behalf of ${ALICE}`).waitFor();
    await message.getByText(`Signed by one of ${BOB}'s devices.`).waitFor();
    expect(await auditSizes(alice, 'delegation-on-behalf')).toEqual([]);

    // Alice revokes: her mailbox's keys change, and Bob loses it.
    await openSettings(alice, 'Alice Example');
    await section.getByRole('button', { name: `Revoke ${BOB}’s access` }).click();
    await section.getByRole('status').getByText(`${BOB} no longer has access; your mailbox’s keys were changed.`).waitFor({ timeout: 60_000 });
    await section.getByText('Nobody has access to your mailbox.').waitFor();

    // Bob, still in Alice's mailbox, is refused on the next load; after a reload it is gone from his switcher.
    await bob.getByRole('button', { name: /^Inbox/ }).click();
    await bob.getByRole('alert').getByText('You have no delegation for this mailbox', { exact: false }).waitFor({ timeout: 60_000 });
    await bob.reload();
    await bob.getByRole('navigation', { name: 'Folders' }).waitFor();
    await bob.getByRole('button', { name: /^Inbox/ }).waitFor();
    await expect.poll(() => bob.getByLabel('Mailbox', { exact: true }).count(), { timeout: 30_000 }).toBe(0);
    expect(errors).toEqual([]);
  });

  it('the admin creates support@ in the console and adds Bob; Bob reads it from his mailbox switcher', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const admin = await context.newPage();
    admin.on('pageerror', (e) => errors.push(e.message));
    await admin.goto(`https://localhost:${ports.admin}/`);
    await admin.getByLabel('Administrator address').fill('admin@example.test');
    await admin.getByLabel('Password').fill(passwords['admin@example.test']!);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(admin);
    await openAdminSection(admin, 'Shared mailboxes');
    const section = admin.getByRole('region', { name: 'Shared mailboxes' });
    await section.getByText('No shared mailboxes yet.').waitFor({ timeout: 60_000 });
    const form = section.getByRole('form', { name: 'New shared mailbox' });
    await form.getByLabel('Address').fill('support@example.test');
    await form.getByLabel('Name').fill('Support');
    await form.getByRole('button', { name: 'Create shared mailbox' }).click();
    await section.getByRole('status').getByText('support@example.test was created.', { exact: false }).waitFor({ timeout: 60_000 });
    const add = section.getByRole('form', { name: 'Add a member to support@example.test' });
    await add.getByLabel('Member address').fill(BOB);
    await add.getByLabel('May').selectOption('send');
    await add.getByRole('button', { name: 'Add member' }).click();
    await section.getByRole('list', { name: 'Members of support@example.test' }).getByText(`${BOB} (Read and send as)`).waitFor({ timeout: 60_000 });
    expect(await auditSizes(admin, 'admin-console-shared-mailboxes')).toEqual([]);

    const transport = await stackTransport(dataDir, ports.smtp);
    await transport.sendMail({ from: 'customer@outside.example', to: 'support@example.test', subject: 'Printer on fire', text: 'Please help.' });
    await bob.reload();
    await bob.getByRole('navigation', { name: 'Folders' }).waitFor();
    const switcher = bob.getByLabel('Mailbox', { exact: true });
    await expect.poll(() => switcher.locator('option').allInnerTexts(), { timeout: 60_000 }).toContain('support@example.test (shared)');
    await switcher.selectOption({ label: 'support@example.test (shared)' });
    await bob.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Printer on fire/ }).waitFor({ timeout: 60_000 });
    await context.close();
    expect(errors).toEqual([]);
  });
});
