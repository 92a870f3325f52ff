/**
 * Blocked senders and mailing lists on the start command's stack, in Chromium: Bob blocks an
 * outside sender from the reader and the ingress then refuses that sender (550 5.7.1); he
 * unblocks it in Settings and mail flows again. In the admin console, the admin makes a list and
 * blocks a domain for everyone; mail to the list reaches Bob, mail from the domain is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { confirmBackupKey, launchChromium, openAdminSection, openSettings, printedPasswords, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
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

async function send(from: string, to: string, subject: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  return transport.sendMail({ from, to, subject, text: `about ${subject}` });
}

async function open(port: number): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(`https://localhost:${port}/`);
  return page;
}

let bob: Page;

describe('blocked senders and lists in the browser', () => {
  it('Bob blocks an outside sender from the reader; the server then refuses it; unblocking in Settings lets it through', async () => {
    bob = await open(ports.web);
    await bob.getByLabel('E-mail address').fill(BOB);
    await bob.getByLabel('Password').fill(passwords[BOB]!);
    await bob.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(bob);
    await bob.getByRole('navigation', { name: 'Folders' }).waitFor();

    expect((await send('pest@pest.example', BOB, 'First offer')).response).toMatch(/^250 /);
    const row = bob.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /First offer/ });
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    await bob.getByRole('article', { name: 'Message from pest@pest.example' }).getByRole('button', { name: 'Block sender' }).click();
    await bob.getByRole('status').getByText('pest@pest.example is blocked').waitFor();

    await expect(send('pest@pest.example', BOB, 'Second offer')).rejects.toMatchObject({ responseCode: 550, response: expect.stringMatching(/^550 5\.7\.1 /) });

    await openSettings(bob, 'Bob Example');
    const blocked = bob.getByRole('region', { name: 'Blocked senders' });
    await blocked.getByText('pest@pest.example').waitFor();
    await blocked.getByRole('button', { name: 'Unblock pest@pest.example' }).click();
    await blocked.getByText('Nobody is blocked.').waitFor();
    expect((await send('pest@pest.example', BOB, 'Third offer')).response).toMatch(/^250 /);
  });

  it('the admin makes a list and blocks a domain for everyone in the admin console', async () => {
    const admin = await open(ports.admin);
    await admin.getByLabel('Administrator address').fill('admin@example.test');
    await admin.getByLabel('Password').fill(passwords['admin@example.test']!);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(admin);
    await openAdminSection(admin, 'Mail flow');

    const lists = admin.getByRole('region', { name: 'Mailing lists' });
    const form = lists.getByRole('form', { name: 'New mailing list' });
    await form.getByLabel('Address').fill('team@example.test');
    await form.getByLabel('Name').fill('Team');
    await form.getByLabel('Members (one per line)').fill(`${BOB}\ncarol@outside.example`);
    // Submitted from the keyboard: the sections above load and grow meanwhile, and a click aimed
    // at the button as it moves can land beside it on a loaded machine.
    await form.getByLabel('Name').press('Enter');
    await lists.getByRole('cell', { name: 'team@example.test', exact: true }).waitFor();
    await lists.getByText('carol@outside.example (outside, relayed as standard mail)').waitFor();

    const blocked = admin.getByRole('region', { name: 'Blocked senders' });
    await blocked.getByLabel('Address or domain').fill('bulk.example');
    await blocked.getByRole('button', { name: 'Block for everyone' }).click();
    await blocked.getByText('bulk.example (domain)').waitFor();

    expect((await send('dave@outside.example', 'team@example.test', 'Team news')).response).toMatch(/^250 /);
    // Bob is still in Settings from the test before: back to his mailbox.
    await bob.getByRole('button', { name: 'Back to mail' }).click();
    await bob.getByRole('button', { name: /^Inbox/ }).click();
    await bob.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Team news/ }).waitFor({ timeout: 30_000 });
    await expect(send('promo@mail.bulk.example', BOB, 'Bulk')).rejects.toMatchObject({ responseCode: 550 });

    // The admin makes the list members-only: Dave (no member) is refused now, and told why.
    await lists.getByRole('cell', { name: 'Anyone', exact: true }).waitFor();
    await lists.getByRole('button', { name: 'Edit team@example.test' }).click();
    const editForm = lists.getByRole('form', { name: 'Edit team@example.test' });
    await editForm.getByLabel('Who may post').selectOption('members');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await lists.getByRole('cell', { name: 'Members only', exact: true }).waitFor();
    await expect(send('dave@outside.example', 'team@example.test', 'Not a member')).rejects.toMatchObject({ responseCode: 550, response: expect.stringMatching(/5\.7\.1 .*only its members may post/) });
  });
});
