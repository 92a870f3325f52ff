/**
 * Devices in the web client, end to end on the start command's stack, in Chromium: three
 * browser profiles (contexts) of one user. The first device makes the keys and shows the backup
 * key; a second waits for approval by fingerprint and gets the older keys once approved; a third
 * recovers with the backup key alone; revoking it signs it out. Key material stays in the
 * browsers' key workers: the backup key never appears in any request or in the server's output.
 * Then escrow: an admin turns it on in the admin console (a device of the admin), a user sees the
 * notice with the same fingerprint, loses their device, and the admin recovers them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { confirmBackupKey, openAdminSection, launchChromium, printedPasswords, stackEnvironment, startSealmail, type Started, openSettings, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const sent: string[] = [];
const errors: string[] = [];
const ALICE = 'alice@example.test';

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

/** A separate browser profile (its own IndexedDB, its own cookies): one "device". */
async function device(port = ports.web): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  // Every request any page or worker of this profile makes, with its body, for the canary check.
  context.on('request', (r) => sent.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${port}/`);
  return { context, page };
}

async function signIn(page: Page, address = ALICE) {
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const row = (page: Page, fingerprint: string) => page.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: fingerprint });

describe('devices in the web client', () => {
  it('first device, approval by fingerprint, recovery by backup key, revocation', async () => {
    // Device A: the first one. It makes the keys and shows the backup key.
    const a = await device();
    await signIn(a.page);
    await a.page.getByRole('heading', { name: 'Save your backup key' }).waitFor();
    const backupKey = (await a.page.getByLabel('Backup key', { exact: true }).textContent())!;
    const groups = backupKey.split('-');
    expect(groups.length).toBeGreaterThanOrEqual(7);
    await a.page.getByLabel('Group 3 of your backup key').fill(groups[2]!);
    await a.page.getByLabel('Group 7 of your backup key').fill(groups[3]!);
    await a.page.getByRole('button', { name: 'I have saved it' }).click();
    await a.page.getByRole('alert').getByText('That does not match your backup key').waitFor();
    await a.page.getByLabel('Group 7 of your backup key').fill(groups[6]!);
    await a.page.getByRole('button', { name: 'I have saved it' }).click();
    await openSettings(a.page, 'Alice Example');
    await a.page.getByText('Key generations on this device: 1', { exact: true }).waitFor();
    const devicesA = a.page.getByRole('region', { name: 'Devices' });
    await devicesA.getByRole('row').filter({ hasText: '(this device)' }).getByRole('cell', { name: 'approved', exact: true }).waitFor();
    await devicesA.getByRole('row').filter({ hasText: 'Backup key' }).getByRole('cell', { name: 'backup', exact: true }).waitFor();

    // Device B: waits for approval and shows its fingerprint.
    const b = await device();
    await signIn(b.page);
    await b.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    const fpB = (await b.page.getByLabel("This device's fingerprint").textContent())!;
    expect(fpB).toMatch(/^\d{4}( \d{4}){4}$/);
    await b.page.getByRole('button', { name: 'I approved it' }).click();
    await b.page.getByRole('alert').getByText('Not approved yet.').waitFor();

    // A sees B, with the same fingerprint, pending; approves it.
    await row(a.page, fpB).getByRole('cell', { name: 'pending', exact: true }).waitFor();
    await row(a.page, fpB).getByRole('button', { name: 'Approve' }).click();
    await row(a.page, fpB).getByRole('cell', { name: 'approved', exact: true }).waitFor();
    await a.page.getByText('Key generations on this device: 1, 2', { exact: true }).waitFor();

    // B now holds the older generation too.
    await b.page.getByRole('button', { name: 'I approved it' }).click();
    await openSettings(b.page, 'Alice Example');
    await b.page.getByText('Key generations on this device: 1, 2', { exact: true }).waitFor();

    // Signing out and in again on B: the new session is bound to B's device by proof, so B
    // goes straight to its mailbox and can still read its keys.
    await b.page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(b.page);
    await openSettings(b.page, 'Alice Example');
    await b.page.getByText('Key generations on this device: 1, 2', { exact: true }).waitFor();
    await expect(b.page.getByRole('heading', { name: 'Approve this device' }).count()).resolves.toBe(0);

    // Device C: no other device at hand, only the backup key. A typo is caught by its checksum.
    const c = await device();
    await signIn(c.page);
    await c.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    const fpC = (await c.page.getByLabel("This device's fingerprint").textContent())!;
    const typo = backupKey.replace(/[A-Z2-9]/, (ch) => (ch === 'A' ? 'B' : 'A'));
    await c.page.getByLabel('No other device? Your backup key').fill(typo);
    await c.page.getByRole('button', { name: 'Recover' }).click();
    await c.page.getByRole('alert').waitFor();
    await c.page.getByLabel('No other device? Your backup key').fill(backupKey.toLowerCase());
    await c.page.getByRole('button', { name: 'Recover' }).click();
    await openSettings(c.page, 'Alice Example');
    await c.page.getByText('Key generations on this device: 1, 2, 3', { exact: true }).waitFor();

    // A revokes C: a new generation for the others, and C is signed out with the reason.
    await row(a.page, fpC).getByRole('cell', { name: 'approved', exact: true }).waitFor();
    await row(a.page, fpC).getByRole('button', { name: 'Revoke' }).click();
    await row(a.page, fpC).getByRole('cell', { name: 'revoked', exact: true }).waitFor();
    await a.page.getByText('Key generations on this device: 1, 2, 3, 4', { exact: true }).waitFor();
    await c.page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor({ timeout: 15_000 });
    await c.page.getByRole('alert').getByText('This device was removed from the account').waitFor();
    await b.page.getByText('Key generations on this device: 1, 2, 3, 4', { exact: true }).waitFor({ timeout: 15_000 });

    // Device D asks to join; A rejects it by the button's visible name: D never gets a key.
    const d = await device();
    await signIn(d.page);
    await d.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    const fpD = (await d.page.getByLabel("This device's fingerprint").textContent())!;
    await row(a.page, fpD).getByRole('cell', { name: 'pending', exact: true }).waitFor();
    await row(a.page, fpD).getByRole('button', { name: 'Reject' }).click();
    await row(a.page, fpD).getByRole('cell', { name: 'revoked', exact: true }).waitFor();
    expect(await row(a.page, fpD).getByRole('button', { name: /^(Approve|Reject)$/ }).count()).toBe(0);

    // The canary: the backup key (any spelling) never left the browsers, nor reached the logs.
    const compact = backupKey.replace(/-/g, '');
    expect(sent.some((l) => l.startsWith('POST') && l.includes('/api/v1/keys/sigchain'))).toBe(true);
    for (const l of sent) {
      expect(l).not.toContain(backupKey);
      expect(l.toUpperCase()).not.toContain(compact);
    }
    expect(running.output()).not.toContain(backupKey);
    expect(errors).toEqual([]);
    for (const d of [a, b, c]) await d.context.close();
  });

  it('escrow: enabled in the admin console, noticed by the user, used to recover their lost device, turned off', async () => {
    const BOB = 'bob@example.test';
    // The admin console is a device of the admin: it gets keys (and a backup key) like any other.
    const admin = await device(ports.admin);
    await admin.page.getByLabel('Administrator address').fill('admin@example.test');
    await admin.page.getByLabel('Password').fill(passwords['admin@example.test']!);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(admin.page);
    await openAdminSection(admin.page, 'Escrow & discovery');
    const escrow = admin.page.getByRole('region', { name: 'Escrow' });
    await escrow.getByText('Escrow is off: only users’ own devices').waitFor();
    await escrow.getByRole('button', { name: 'Turn on escrow' }).click();
    await escrow.getByRole('status').getByText('Escrow is on.').waitFor();
    const fingerprint = (await escrow.getByLabel('Escrow fingerprint').textContent())!;
    expect(fingerprint).toMatch(/^\d{4}( \d{4}){4}$/);

    // Bob's first sign-in: backup key, then the escrow notice with the same fingerprint.
    const b1 = await device();
    await signIn(b1.page, BOB);
    await confirmBackupKey(b1.page);
    await b1.page.getByRole('heading', { name: 'Your organisation can recover your mail' }).waitFor();
    expect(await b1.page.getByLabel('Escrow key fingerprint').textContent()).toBe(fingerprint);
    await b1.page.getByRole('button', { name: 'I understand — add it' }).click();
    await openSettings(b1.page, 'Bob Example');
    const escrowRow = b1.page.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: 'Escrow' });
    await escrowRow.getByRole('cell', { name: 'escrow', exact: true }).waitFor();
    // Bob cannot revoke it: the row has no button.
    expect(await escrowRow.getByRole('button').count()).toBe(0);
    // A reload does not show the notice again.
    await b1.page.reload();
    await openSettings(b1.page, 'Bob Example');
    await b1.context.close();

    // Bob lost that browser and has no backup key at hand: a new one waits for approval.
    const b2 = await device();
    await signIn(b2.page, BOB);
    await b2.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    const fpB2 = (await b2.page.getByLabel("This device's fingerprint").textContent())!;

    // The admin recovers it with the escrow key, comparing the fingerprint.
    await admin.page.reload();
    // The admin is a user too: their console device adds the escrow key to their own history.
    // (A page that asked twice used to race itself appending that link: "Your keys could not be set up".)
    await admin.page.getByRole('heading', { name: 'Your organisation can recover your mail' }).waitFor({ timeout: 60_000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}\nPAGE: ${(await admin.page.locator('body').innerText()).slice(0, 1500)}`);
    });
    await admin.page.getByRole('button', { name: 'I understand — add it' }).click();
    const bobRow = admin.page.getByRole('row', { name: `User ${BOB}` });
    await bobRow.getByRole('cell', { name: 'yes' }).first().waitFor();
    await bobRow.getByRole('button', { name: 'Recover a device' }).click();
    const recover = admin.page.getByRole('region', { name: 'Recover a device' });
    await recover.getByText(fpB2).waitFor();
    await recover.getByRole('button', { name: 'Approve with the escrow key' }).click();
    await admin.page.getByRole('status').filter({ hasText: `for ${BOB}` }).getByText('generations 1, 2').waitFor();

    await b2.page.getByRole('button', { name: 'I approved it' }).click();
    await openSettings(b2.page, 'Bob Example');
    await b2.page.getByText('Key generations on this device: 1, 2', { exact: true }).waitFor();

    // Discovery opens Bob's keys, on the record.
    await bobRow.getByRole('button', { name: 'Open keys (discovery)' }).click();
    await admin.page.getByRole('status').getByText(`Opened ${BOB}’s keys (generations 1, 2)`).waitFor();

    // Turning escrow off removes it from every key history that has it, with a new key for Bob.
    await admin.page.getByRole('button', { name: 'Turn off escrow' }).click();
    await admin.page.getByRole('status').getByText(/Escrow is off\. Removed from \d+ key histories/).waitFor();
    await escrow.getByText('Escrow is off: only users’ own devices').waitFor();
    await b2.page.getByText('Key generations on this device: 1, 2, 3', { exact: true }).waitFor({ timeout: 15_000 });
    await b2.page.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: 'Escrow' }).getByRole('cell', { name: 'revoked', exact: true }).waitFor({ timeout: 15_000 });
    expect(errors).toEqual([]);
    for (const d of [admin, b2]) await d.context.close();
  });
});
