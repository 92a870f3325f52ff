/**
 * Devices in the web client, end to end on the start command's stack, in Chromium: three
 * browser profiles (contexts) of one user. The first device makes the keys and shows the backup
 * key; a second waits for approval by fingerprint and gets the older keys once approved; a third
 * recovers with the backup key alone; revoking it signs it out. Key material stays in the
 * browsers' key workers: the backup key never appears in any request or in the server's output.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, printedPasswords, stackEnvironment, startSealmail, type Started } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let password: string;
const sent: string[] = [];
const errors: string[] = [];
const ALICE = 'alice@example.test';

beforeAll(async () => {
  running = await startSealmail(env);
  password = printedPasswords(running.output())[ALICE]!;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  if (running && running.proc.exitCode === null) {
    running.proc.kill('SIGINT');
    await running.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** A separate browser profile (its own IndexedDB, its own cookies): one "device". */
async function device(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  // Every request any page or worker of this profile makes, with its body, for the canary check.
  context.on('request', (r) => sent.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${ports.web}/`);
  return { context, page };
}

async function signIn(page: Page) {
  await page.getByLabel('E-mail address').fill(ALICE);
  await page.getByLabel('Password').fill(password);
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
    await a.page.getByRole('heading', { name: 'Signed in as Alice Example' }).waitFor();
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
    await b.page.getByRole('heading', { name: 'Signed in as Alice Example' }).waitFor();
    await b.page.getByText('Key generations on this device: 1, 2', { exact: true }).waitFor();

    // Signing out and in again on B: the new session is bound to B's device by proof, so B
    // goes straight to its mailbox and can still read its keys.
    await b.page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(b.page);
    await b.page.getByRole('heading', { name: 'Signed in as Alice Example' }).waitFor();
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
    await c.page.getByRole('heading', { name: 'Signed in as Alice Example' }).waitFor();
    await c.page.getByText('Key generations on this device: 1, 2, 3', { exact: true }).waitFor();

    // A revokes C: a new generation for the others, and C is signed out with the reason.
    await row(a.page, fpC).getByRole('cell', { name: 'approved', exact: true }).waitFor();
    await row(a.page, fpC).getByRole('button', { name: 'Revoke' }).click();
    await row(a.page, fpC).getByRole('cell', { name: 'revoked', exact: true }).waitFor();
    await a.page.getByText('Key generations on this device: 1, 2, 3, 4', { exact: true }).waitFor();
    await c.page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor({ timeout: 15_000 });
    await c.page.getByRole('alert').getByText('This device was removed from the account').waitFor();
    await b.page.getByText('Key generations on this device: 1, 2, 3, 4', { exact: true }).waitFor({ timeout: 15_000 });

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
});
