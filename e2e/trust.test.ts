/**
 * Trust you can see, in Chromium on the start command's stack (issue 11): a colleague who forges
 * another user's address into the sealed From is shown as themselves, under a warning; a device
 * signed in with the password alone waits with no keys and reads nothing, while the user's first
 * device announces it at once with its fingerprint; once approved there, it reads what arrived.
 *
 * The hostile colleague (Bob) is a script with the real client package over HTTPS, sealing with
 * his own device's keys: what any user of the organisation could run.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ApiClient } from '@sealmail/client';
import { buildMime, Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { currentPuk, sealMail, toBase64Url } from '@sealmail/crypto';
import { httpsFetch } from '@sealmail/client/node';
import { confirmBackupKey, launchChromium, printedPasswords, stackEnvironment, startSealmail, type Started, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function device(): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${ports.web}/`);
  return page;
}

async function signIn(page: Page, address: string) {
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Bob's own script: the real client package over HTTPS, with a device of his own. */
async function bobsScript() {
  const ca = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8');
  const base = `https://127.0.0.1:${ports.api}`;
  const anon = new ApiClient({ baseUrl: base, fetch: httpsFetch(ca) });
  const { token } = await anon.signIn(BOB, passwords[BOB]!);
  const api = new ApiClient({ baseUrl: base, fetch: httpsFetch(ca), token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address: BOB, name: 'Bob script', kind: 'cli' });
  return { api, identity, mail: new Mailer(api, identity, BOB, 'Bob') };
}

describe('trust in the web client', () => {
  it('shows a forged sender as who signed it, announces a waiting device on the first one, and gives the waiting device nothing until approved', async () => {
    const a = await device();
    await signIn(a, ALICE);
    await confirmBackupKey(a);
    await a.getByRole('navigation', { name: 'Folders' }).waitFor();

    // Bob seals with his own device but writes the admin's address into the sealed From.
    const bob = await bobsScript();
    const me = await bob.identity.thisDevice(BOB);
    const rcpt = await bob.identity.verifiedChain(ALICE);
    const puk = currentPuk(rcpt.state!);
    const mine = currentPuk(me.state);
    const mime = buildMime({ from: { name: 'The Admin', address: 'admin@example.test' }, to: [ALICE], cc: [], subject: 'Please approve the invoice', text: 'Pay it today.', date: new Date(), messageId: `<${crypto.randomUUID()}@example.test>`, references: [], attachments: [] });
    const sealed = await sealMail({
      messageId: `${crypto.randomUUID()}@example.test`,
      sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, chain: { length: me.state.length, head: me.state.headHash } },
      pieces: [{ kind: 'body', plaintext: mime }],
      to: [{ userId: rcpt.userId, generation: puk.generation, publicKeys: puk.keys }],
      senderCopy: { userId: me.userId, generation: mine.generation, publicKeys: mine.keys },
    });
    await bob.api.sendMail({
      draft: false,
      envelope: toBase64Url(sealed.envelope),
      manifest: toBase64Url(sealed.manifest),
      body: toBase64Url(sealed.pieces[0]!),
      attachments: [],
      to: [ALICE],
      cc: [],
      bcc: [],
      boxes: sealed.boxes.map((b) => ({ address: b.role === 'sender-copy' ? BOB : ALICE, record: toBase64Url(b.record) })),
    });

    // Alice's list and reader show Bob, the Unverified label and a warning naming both addresses.
    const row = a.getByRole('button', { name: /Please approve the invoice from bob@example\.test/ });
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    const message = a.getByRole('article', { name: 'Message from bob@example.test' });
    await message.waitFor();
    await message.getByText('Unverified', { exact: true }).waitFor();
    const warning = message.getByRole('alert');
    await warning.getByText('This mail says it is from admin@example.test, but it was signed by a device of bob@example.test').waitFor();
    expect(await message.getByText('Signed by one of').count()).toBe(0);
    expect(await message.getByText('The Admin').count()).toBe(0);
    await a.screenshot({ path: join(dataDir, 'forged-from.png') });

    // A second browser signs in with Alice's password: it waits, holding no keys.
    const d = await device();
    await signIn(d, ALICE);
    await d.getByRole('heading', { name: 'Approve this device' }).waitFor();
    const fingerprint = (await d.getByLabel("This device's fingerprint").textContent())!;
    await d.getByLabel('Key generations on this device').getByText('Key generations on this device: none').waitFor();

    // Alice's first device shows the request at once, with the same fingerprint.
    const banner = a.getByRole('alert', { name: 'A device is waiting for approval' });
    await banner.getByText(fingerprint).waitFor({ timeout: 30_000 });
    await a.screenshot({ path: join(dataDir, 'pending-banner.png') });

    // New mail arrives while it waits: the waiting device still holds nothing to read it with.
    await bob.mail.send({ to: [ALICE], subject: 'Sent while the new device waits', text: 'Only approved devices can read this.' });
    await a.getByRole('button', { name: /Sent while the new device waits/ }).waitFor({ timeout: 30_000 });
    await d.reload();
    await d.getByRole('heading', { name: 'Approve this device' }).waitFor();
    await d.getByLabel('Key generations on this device').getByText('Key generations on this device: none').waitFor();
    await d.getByRole('button', { name: 'I approved it' }).click();
    await d.getByRole('alert').getByText('Not approved yet.').waitFor();

    // Approved from the banner: the device gets every generation and reads the mail.
    await banner.getByRole('button', { name: /^Approve / }).click();
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
    await d.getByRole('button', { name: 'I approved it' }).click();
    await d.getByRole('button', { name: /Sent while the new device waits/ }).click();
    await d.getByRole('article', { name: 'Message from bob@example.test' }).getByText('Only approved devices can read this.').waitFor();
    expect(errors).toEqual([]);
  });
});
