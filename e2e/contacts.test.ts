/**
 * Contacts on the start command's stack, in Chromium (docs/mail.md "Contacts"): Alice adds Bob
 * to her address book (sealed on her device: a canary in the notes reaches no request), finds him
 * by name in compose's To field with the keyboard, and sends; Bob sees Alice's verified name,
 * adds her to his contacts from the reader, renames her there and his mailbox shows that name
 * beside her address. A contact group typed as a recipient becomes its members' addresses on
 * Alice's device. The Contacts view and compose with suggestions are audited (axe-core, no
 * sideways scrolling) and photographed at desktop and phone sizes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, launchChromium, printedPasswords, stackEnvironment, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const CANARY = `canary-contact-${randomBytes(6).toString('hex')}`;
/** Every request body Alice's browser sent. */
const sent: string[] = [];

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
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  if (address === ALICE) context.on('request', (r) => void sent.push(`${r.method()} ${r.url()} ${r.postDataBuffer()?.toString('latin1') ?? ''}`));
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('navigation', { name: 'Folders' }).waitFor();
  return { context, page };
}

/** Adds a contact in the Contacts view. */
async function addContact(page: Page, c: { name: string; emails: string; groups: string; notes?: string }) {
  await page.getByRole('button', { name: 'New contact' }).click();
  const form = page.getByRole('form', { name: 'New contact' });
  await form.getByLabel('Name').fill(c.name);
  await form.getByLabel('E-mail addresses').fill(c.emails);
  await form.getByLabel('Groups').fill(c.groups);
  if (c.notes) await form.getByLabel('Notes').fill(c.notes);
  await form.getByRole('button', { name: 'Save contact' }).click();
  await page.getByRole('status').getByText(`Saved ${c.name}`).waitFor({ timeout: 30_000 });
}

let alice: { context: BrowserContext; page: Page };
let bob: { context: BrowserContext; page: Page };

describe('contacts in the web client', () => {
  it('Alice adds Bob, autocompletes him by name with the keyboard and sends; Bob sees her name and adds her from the reader', async () => {
    alice = await signedIn(ALICE);
    bob = await signedIn(BOB);
    const a = alice.page;

    await a.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Contacts' }).click();
    await a.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    await a.getByText('No contacts yet.', { exact: false }).waitFor({ timeout: 30_000 });
    await addContact(a, { name: 'Roberto Ünal', emails: `Work: ${BOB}`, groups: 'Climbing', notes: `Belays well ${CANARY}` });
    await addContact(a, { name: 'Demo Admin', emails: ADMIN, groups: 'Climbing' });
    const list = a.getByRole('region', { name: 'Your contacts' });
    await list.getByRole('button', { name: /Roberto Ünal/ }).waitFor();
    // Search filters on the device.
    await list.getByRole('searchbox', { name: 'Search contacts' }).fill('ünal');
    await expect.poll(() => list.getByRole('listitem').count(), { timeout: 10_000 }).toBe(1);
    await list.getByRole('searchbox', { name: 'Search contacts' }).fill('');
    await list.getByRole('combobox', { name: 'Show group' }).selectOption('Climbing');
    await expect.poll(() => list.getByRole('listitem').count(), { timeout: 10_000 }).toBe(2);
    expect(await auditSizes(a, 'contacts')).toEqual([]);

    // The contact was sealed before it left the browser: its notes are in no request.
    expect(sent.some((s) => s.includes('/api/v1/contacts'))).toBe(true);
    expect(sent.filter((s) => s.includes(CANARY))).toEqual([]);

    await a.getByRole('button', { name: 'Back to mail' }).click();
    await a.getByRole('navigation', { name: 'Folders' }).waitFor();
    await a.keyboard.press('c');
    const compose = a.getByRole('dialog', { name: 'Compose' });
    const to = compose.getByRole('combobox', { name: 'To', exact: true });
    await to.pressSequentially('robe');
    const suggestions = compose.getByRole('listbox', { name: 'Suggestions for To' });
    const option = suggestions.getByRole('option', { name: /Roberto Ünal/ });
    await option.waitFor({ timeout: 30_000 });
    await expect.poll(() => to.getAttribute('aria-expanded')).toBe('true');
    await a.keyboard.press('ArrowDown');
    await expect.poll(() => option.getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => to.getAttribute('aria-activedescendant')).toBe(await option.getAttribute('id'));
    expect(await auditSizes(a, 'compose-autocomplete')).toEqual([]);
    await a.keyboard.press('Enter');
    await expect.poll(() => to.inputValue()).toBe(`${BOB}, `);
    // Escape closes open suggestions, not the compose window.
    await to.pressSequentially('demo');
    await suggestions.getByRole('option', { name: /Demo Admin/ }).waitFor();
    await to.press('Escape');
    await expect.poll(() => to.getAttribute('aria-expanded')).toBe('false');
    await expect.poll(() => compose.isVisible()).toBe(true);
    await to.fill(`${BOB}, `);
    await compose.getByLabel('Subject').fill('Climbing on Saturday');
    await compose.getByRole('textbox', { name: 'Message' }).fill('Shall we?');
    await compose.getByRole('button', { name: 'Send' }).click();
    await a.getByRole('status').getByText('Sent.').waitFor({ timeout: 120_000 });

    // Bob: the row and the reader show Alice's name from her verified, sealed From, beside her address.
    const b = bob.page;
    const row = b.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Climbing on Saturday/ });
    await row.waitFor({ timeout: 60_000 });
    await row.getByText('Alice Example').waitFor();
    await row.click();
    const message = b.getByRole('article', { name: `Message from ${ALICE}` });
    await message.getByText(`<${ALICE}>`).waitFor();
    await message.getByText('Alice Example', { exact: false }).first().waitFor();
    await message.getByRole('button', { name: 'Add to contacts' }).click();
    await message.getByRole('status').getByText('Added to contacts.').waitFor({ timeout: 30_000 });

    // Bob renames her in his address book; his mailbox then shows his name for her.
    await b.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Contacts' }).click();
    const bobList = b.getByRole('region', { name: 'Your contacts' });
    await bobList.getByRole('button', { name: /Alice Example/ }).click();
    const form = b.getByRole('form', { name: 'Edit Alice Example' });
    await form.getByLabel('Name').fill('Ali from climbing');
    await form.getByRole('button', { name: 'Save contact' }).click();
    await b.getByRole('status').getByText('Saved Ali from climbing').waitFor({ timeout: 30_000 });
    await b.getByRole('button', { name: 'Back to mail' }).click();
    const renamed = b.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Climbing on Saturday/ });
    await renamed.getByText('Ali from climbing').waitFor({ timeout: 30_000 });
    await renamed.locator('.sender-address', { hasText: ALICE }).waitFor();
    expect(await auditSizes(b, 'contacts-mailbox-names')).toEqual([]);
  });

  it('a group typed as a recipient is expanded on the device into its members', async () => {
    // The admin, the group's other member, sets up a device (so there is a key to seal to).
    const admin = await signedIn(ADMIN);
    await admin.context.close();
    const a = alice.page;
    await a.keyboard.press('c');
    const compose = a.getByRole('dialog', { name: 'Compose' });
    const to = compose.getByRole('combobox', { name: 'To', exact: true });
    await to.pressSequentially('climb');
    await compose.getByRole('option', { name: /Climbing group, 2 people/ }).click();
    await expect.poll(() => to.inputValue()).toBe('Climbing, ');
    await compose.getByLabel('Subject').fill('To the whole group');
    await compose.getByRole('textbox', { name: 'Message' }).fill('Rope check at 9.');
    await compose.getByRole('button', { name: 'Send' }).click();
    await a.getByRole('status').getByText('Sent.').waitFor({ timeout: 120_000 });

    // Bob, a member, receives it.
    await bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /To the whole group/ }).waitFor({ timeout: 60_000 });
    // Alice's sealed Sent copy names both members' addresses, not the group.
    await a.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: /^Sent/ }).click();
    const sentRow = a.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /To the whole group/ });
    await sentRow.waitFor({ timeout: 30_000 });
    await sentRow.click();
    const copy = a.getByRole('article', { name: `Message from ${ALICE}` });
    // (Members in the address book's order: Demo Admin, then Roberto Ünal.)
    await copy.getByText(`${ADMIN}, ${BOB}`).waitFor({ timeout: 30_000 });

    // A word that is neither an address nor a group is named before anything is sent.
    await a.keyboard.press('c');
    const again = a.getByRole('dialog', { name: 'Compose' });
    await again.getByRole('combobox', { name: 'To', exact: true }).fill('Climbers');
    await again.getByRole('button', { name: 'Send' }).click();
    await again.getByRole('alert').getByText('“Climbers” is neither an e-mail address nor one of your contact groups', { exact: false }).waitFor();
  });
});
