/**
 * An IT person's afternoon in the admin console, in Chromium on the start command's stack, at
 * 1280×800 and 390×844: a domain added, proven by its DNS TXT record and its records checked;
 * users uploaded as CSV; mail from outside for one of them arrives before they ever signed in; a
 * set-up link copied and opened in a fresh browser by that user, who chooses a password, sets up
 * their first device and reads the mail that was waiting; a user suspended; one put under legal
 * hold, and deleting them (and so their mail) refused; the change history's chain verified.
 * Every section by its sidebar (a menu on the phone) and its own URL; Tab reaches every control of
 * three of them with a visible focus ring. axe-core finds no serious
 * or critical violation in any section at either size, and no page scrolls sideways.
 * Screenshots of each section at both sizes go to e2e/screenshots/. DNS is outside this machine:
 * the stack answers lookups from a JSON table this test writes (SEALMAIL_DNS_TABLE, test-only).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { axeProblems, confirmBackupKey, DESKTOP, keyboardWalk, launchChromium, openAdminSection, PHONE, printedPasswords, screenshotsDir, settle, sidewaysProblem, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

const ADMIN = 'admin@example.test';
const SECTIONS = ['Overview', 'Users', 'Domains', 'Mail flow', 'Shared mailboxes', 'Security', 'Escrow & discovery', 'Legal hold', 'Mail activity', 'Change history', 'Reports', 'Import', 'Resources'];

const { dataDir, ports, env } = await stackEnvironment();
const dnsFile = join(dataDir, 'dns-table.json');
const dns: Record<string, unknown> = {};
const publish = (name: string, value: unknown) => writeFile(dnsFile, JSON.stringify(Object.assign(dns, { [name]: value })));
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  await writeFile(dnsFile, '{}');
  running = await startSealmail({ ...env, SEALMAIL_DNS_TABLE: dnsFile });
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

/** A screenshot of the console as it is now, with the axe audit and the width check (support.ts). */
async function shoot(page: Page, name: string) {
  await settle(page);
  const size = page.viewportSize()!;
  const label = `admin-console-${name}-${size.width}x${size.height}`;
  await page.screenshot({ path: join(screenshotsDir, `${label}.png`), fullPage: true });
  for (const p of await axeProblems(page)) problems.push(`${label}: ${p}`);
  const wide = await sidewaysProblem(page);
  if (wide) problems.push(`${label}: ${wide}`);
}

/** Mail from outside over the stack's SMTP ingress (STARTTLS), as any other server would send it. */
async function smtp(to: string, subject: string, text: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  return transport.sendMail({ from: '"Hanna HR" <hanna@agency.example>', to, subject, text });
}

/** Waits for `done`, answering the console's password prompt first if the change needs a fresh proof. */
async function confirmIfAsked(page: Page, done: Locator) {
  const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
  await done.or(dialog).first().waitFor();
  if (await dialog.isVisible()) {
    await dialog.getByLabel('Password').fill(passwords[ADMIN]!);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
  }
  await done.waitFor();
}

describe('the admin console', () => {
  it('an afternoon: a domain checked, CSV users, mail before first sign-in read via the set-up link, a suspension, a legal hold that refuses deletion, the history verified; every section at both sizes', { timeout: 360_000 }, async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `https://localhost:${ports.admin}` });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`https://localhost:${ports.admin}/users`);
    // The sign-in page's status comes from the API (through /api): not a false "unreachable".
    await page.getByRole('region', { name: 'Server status' }).getByText('ready', { exact: true }).waitFor();
    await page.getByLabel('Administrator address').fill(ADMIN);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(passwords[ADMIN]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    // The deep link is kept through sign-in; the earlier error is not.
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/users');
    expect(await page.getByRole('alert').count()).toBe(0);

    // Overview: the health checks, live.
    await openAdminSection(page, 'Overview');
    const overview = page.getByRole('region', { name: 'Overview' });
    await overview.getByText('reachable', { exact: false }).first().waitFor();
    expect(await overview.textContent()).toMatch(/SMTP ingress\s*OK/);
    expect(await overview.textContent()).toMatch(/Certificate\s*OK expires/);
    expect(await overview.textContent()).toMatch(/API\s*OK version/);
    expect(await overview.textContent()).toMatch(/Outbound queue\s*OK \d+ waiting, 0 failed/);
    expect(await overview.textContent()).toMatch(/Storage\s*\d\S* \S+ used by \d+ users/);

    // A domain of the organisation: added, proven by its TXT record, its records checked.
    await openAdminSection(page, 'Domains');
    const domains = page.getByRole('region', { name: 'Domains' });
    await domains.getByRole('textbox', { name: 'Domain name' }).fill('acme.example');
    await domains.getByRole('button', { name: 'Add domain' }).click();
    const acme = page.getByRole('region', { name: 'Domain acme.example' });
    await acme.getByText('Not verified.').waitFor();
    const token = (await acme.getByRole('group', { name: 'TXT record _sealmail-verify.acme.example' }).locator('dd code').nth(1).textContent())!;
    await publish('TXT _sealmail-verify.acme.example', [[token]]);
    await acme.getByRole('button', { name: 'Verify', exact: true }).click();
    await acme.getByRole('status').getByText('acme.example is verified').waitFor();
    const mxHost = (await acme.getByRole('group', { name: 'MX record acme.example' }).locator('dd code').nth(1).textContent())!;
    await publish('MX acme.example', [{ exchange: mxHost, priority: 10 }]);
    await acme.getByRole('button', { name: 'Check records', exact: true }).click();
    await acme.getByRole('status').getByText(/1 of 7 right/).waitFor();
    await acme.getByRole('group', { name: 'MX record acme.example' }).getByText('Right', { exact: true }).waitFor();
    await acme.getByRole('group', { name: 'TXT record _dmarc.acme.example' }).getByText('Missing', { exact: true }).waitFor();
    await shoot(page, 'domain-checked');

    // Users from a CSV: three made, one refused with its reason.
    await openAdminSection(page, 'Users');
    const csv = 'address,name,plan\nnina@example.test,Nina New,pro\noscar@example.test,Oscar New,business\npaula@example.test,Paula New,enterprise\nquinn@nowhere.example,Quinn,pro\n';
    await page.getByLabel('CSV file').setInputFiles({ name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload users' }).click();
    await page.getByRole('region', { name: 'Upload users' }).getByRole('status').getByText('3 created, 1 refused.').waitFor();
    await page.getByRole('table', { name: 'Upload results' }).getByText('Refused: nowhere.example is not a domain of your organisation.').waitFor();
    const nina = page.getByRole('listitem', { name: 'User nina@example.test' });
    await nina.getByText('Not set up yet').waitFor();
    await nina.getByText('Pro: 0 bytes of 50 GB used').waitFor();

    // Mail from outside for Nina, who has never signed in: accepted (250), held for her.
    expect((await smtp('nina@example.test', 'Before your first day', 'Your desk is on the third floor.')).response).toMatch(/^250 /);

    // A set-up link for Nina, copied.
    await nina.getByText('Manage nina@example.test').click();
    await nina.getByRole('button', { name: 'Create set-up link' }).click();
    const linkField = nina.getByLabel('Set-up link', { exact: true });
    await linkField.waitFor();
    await nina.getByRole('button', { name: 'Copy link' }).click();
    await nina.getByText('Copied.').waitFor();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    expect(link).toBe(await linkField.inputValue());
    expect(link).toMatch(new RegExp(`^https://localhost:${ports.web}/welcome#[A-Za-z0-9_-]{43}$`));
    await shoot(page, 'users-invite');

    // Nina, in a browser of her own: chooses a password and reaches her first device's set-up.
    const fresh = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
    const ninaPage = await fresh.newPage();
    ninaPage.on('pageerror', (e) => errors.push(e.message));
    await ninaPage.goto(link);
    await ninaPage.getByText('Nina New, choose the password for nina@example.test').waitFor();
    expect(new URL(ninaPage.url()).hash).toBe(''); // the token left the address bar
    await shoot(ninaPage, 'welcome');
    await ninaPage.getByLabel('New password (at least 12 characters)').fill('nina picked this one');
    await ninaPage.getByLabel('New password again').fill('nina picked this one');
    await ninaPage.getByRole('button', { name: 'Set password and continue' }).click();
    await confirmBackupKey(ninaPage);
    await ninaPage.getByRole('navigation', { name: 'Folders' }).waitFor();
    // The mail that arrived before she signed in is re-sealed to her new key and waiting for her.
    const waiting = ninaPage.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Before your first day/ });
    await waiting.waitFor({ timeout: 90_000 });
    await waiting.click();
    await ninaPage.getByText('Your desk is on the third floor.').waitFor();
    // The link is used up.
    await fresh.clearCookies();
    await ninaPage.goto(link);
    await ninaPage.getByRole('alert').getByText('This set-up link cannot be used').waitFor();
    await fresh.close();

    // Oscar is suspended (signed out everywhere; sign-in refused: admin-users.test.ts).
    const oscar = page.getByRole('listitem', { name: 'User oscar@example.test' });
    await oscar.getByText('Manage oscar@example.test').click();
    page.once('dialog', (d) => void d.accept());
    await oscar.getByRole('button', { name: 'Suspend' }).click();
    await confirmIfAsked(page, oscar.getByRole('button', { name: 'Reactivate' }));
    await oscar.getByText('Suspended', { exact: true }).waitFor();
    await oscar.getByText('oscar@example.test is suspended and signed out everywhere.').waitFor();

    // Paula goes under legal hold; the section lists her with the reason.
    await openAdminSection(page, 'Legal hold');
    const place = page.getByRole('form', { name: 'Place a user under legal hold' });
    await place.getByLabel('User').selectOption('paula@example.test');
    await place.getByLabel('Reason (e.g. the case reference)').fill('Case 2026-42: contract dispute');
    await place.getByRole('button', { name: 'Place under legal hold' }).click();
    const holds = page.getByRole('table', { name: 'Users under legal hold' });
    await confirmIfAsked(page, holds.getByRole('cell', { name: 'Case 2026-42: contract dispute' }));
    await holds.getByRole('cell', { name: 'paula@example.test', exact: true }).waitFor();

    // Deleting Paula, and so her mail, is refused while she is held.
    await openAdminSection(page, 'Users');
    const paula = page.getByRole('listitem', { name: 'User paula@example.test' });
    await paula.getByText('Manage paula@example.test').click();
    page.once('dialog', (d) => void d.accept());
    await paula.getByRole('button', { name: 'Delete user' }).click();
    await confirmIfAsked(page, paula.getByRole('alert').getByText(/legal hold/));
    await paula.getByText('Legal hold', { exact: true }).waitFor();

    // The change history holds the afternoon, and its chain verifies.
    await openAdminSection(page, 'Change history');
    const history = page.getByRole('region', { name: 'Change history' });
    await history.getByRole('cell', { name: 'admin.legal_hold_set' }).first().waitFor();
    await history.getByRole('button', { name: 'Verify the chain' }).click();
    await history.getByRole('status').filter({ hasText: 'Chain intact.' }).waitFor();

    // Every section, by the sidebar and by its own URL, at both sizes.
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      for (const name of SECTIONS) {
        await openAdminSection(page, name);
        await page.getByRole('heading', { level: 2 }).first().waitFor();
        // Each section's data has arrived (not its "Loading…" line) before the picture.
        await page.locator('main').getByText(/^(Loading|Checking)…$/).waitFor({ state: 'detached' });
        await shoot(page, name.toLowerCase().replace(/\W+/g, '-'));
      }
    }
    // The phone's menu, open.
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Users' }).waitFor();
    await shoot(page, 'menu-open');
    await page.getByRole('button', { name: 'Menu' }).click();
    // A reload keeps the section (the web host serves the console for its paths).
    await page.goto(`https://localhost:${ports.admin}/legal-hold`);
    await page.getByRole('table', { name: 'Users under legal hold' }).getByRole('cell', { name: 'paula@example.test', exact: true }).waitFor();

    // Keyboard only: Tab reaches every control of these sections, each with a visible focus ring.
    await page.setViewportSize(DESKTOP);
    for (const name of ['Users', 'Domains', 'Change history']) {
      await openAdminSection(page, name);
      await page.locator('main').getByText(/^(Loading|Checking)…$/).waitFor({ state: 'detached' });
      const walk = await keyboardWalk(page);
      expect({ section: name, ...walk }).toMatchObject({ missed: [], noRing: [] });
      expect(walk.reached, name).toBeGreaterThanOrEqual(10);
    }
    await context.close();

    expect(problems).toEqual([]);
    expect(errors).toEqual([]);
  });
});
