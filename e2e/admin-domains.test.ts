/**
 * The admin console's Domains section in Chromium against the start command: add a domain, fail
 * to verify it, publish its TXT record and verify it, check a half-configured domain, copy a
 * record (Clipboard API, "Copied" shown), rotate its DKIM key, and remove it; at 1280×800 and
 * 390×844 with axe-core and screenshots. DNS is outside this machine: the stack's processes
 * answer every lookup from a JSON table this test writes (SEALMAIL_DNS_TABLE, test-only).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { auditSizes, confirmBackupKey, DESKTOP, launchChromium, openAdminSection, printedPasswords, stackEnvironment, startSealmail, stopSealmail, type Started } from './support';

const { dataDir, ports, env } = await stackEnvironment();
const dnsFile = join(dataDir, 'dns-table.json');
const dns: Record<string, unknown> = {};
const publish = (name: string, value: unknown) => writeFile(dnsFile, JSON.stringify(Object.assign(dns, { [name]: value })));
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const pageErrors: string[] = [];

beforeAll(async () => {
  await writeFile(dnsFile, '{}');
  running = await startSealmail({ ...env, SEALMAIL_DNS_TABLE: dnsFile, SEALMAIL_SMTP_HOSTNAME: 'mx.sealmail.example', SEALMAIL_PUBLIC_HOST: 'localhost' });
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

describe('Domains in the admin console', () => {
  it('add, verify by DNS TXT, check the records, copy one, rotate DKIM, remove — at desktop and phone size', async () => {
    const origin = `https://localhost:${ports.admin}`;
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${origin}/`);
    await page.getByLabel('Administrator address').fill('admin@example.test');
    await page.getByLabel('Password').fill(passwords['admin@example.test']!);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await confirmBackupKey(page);
    await openAdminSection(page, 'Domains');
    const section = page.getByRole('region', { name: 'Domains' });
    // The demo domain counts as verified.
    await section.getByRole('row', { name: /example\.test/ }).getByText('Verified').waitFor();

    // Add: keyboard only (type, Enter).
    await section.getByRole('textbox', { name: 'Domain name' }).fill('acme.example');
    await section.getByRole('textbox', { name: 'Domain name' }).press('Enter');
    const panel = page.getByRole('region', { name: 'Domain acme.example' });
    await panel.getByText('Not verified.').waitFor();
    await section.getByRole('row', { name: /acme\.example/ }).getByText('Not verified').waitFor();
    const verifyRecord = panel.getByRole('group', { name: 'TXT record _sealmail-verify.acme.example' });
    const token = (await verifyRecord.locator('dd code').nth(1).textContent())!;
    expect(token).toMatch(/^sealmail-verify=[0-9a-f]{32}$/);

    // Verify before publishing: told what to publish where.
    await panel.getByRole('button', { name: 'Verify', exact: true }).click();
    await panel.getByRole('alert').getByText(/no TXT record at _sealmail-verify\.acme\.example/).waitFor();
    const problems = await auditSizes(page, 'admin-domains-1-unverified');

    // A wrong token is shown as found; the right one verifies.
    await publish('TXT _sealmail-verify.acme.example', [['sealmail-verify=00000000000000000000000000000000']]);
    await panel.getByRole('button', { name: 'Verify', exact: true }).click();
    await panel.getByRole('alert').getByText(/holds "sealmail-verify=0{32}", not this domain's token/).waitFor();
    await publish('TXT _sealmail-verify.acme.example', [[token]]);
    await panel.getByRole('button', { name: 'Verify', exact: true }).click();
    await panel.getByRole('status').getByText('acme.example is verified').waitFor();
    await section.getByRole('row', { name: /acme\.example/ }).getByText('Verified').waitFor();

    // Copy a record's value: the clipboard holds it and the page says so.
    const mx = panel.getByRole('group', { name: 'MX record acme.example' });
    await mx.getByRole('button', { name: 'Copy the value of the MX record acme.example', exact: true }).focus();
    await page.keyboard.press('Enter');
    await mx.getByText('Copied', { exact: true }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('mx.sealmail.example');

    // Half configured: MX and DKIM right, SPF wrong, the rest missing.
    const dkimValue = (await panel.getByRole('group', { name: 'TXT record sealmail._domainkey.acme.example' }).locator('dd code').nth(1).textContent())!;
    await publish('MX acme.example', [{ exchange: 'mx.sealmail.example', priority: 10 }]);
    await publish('TXT acme.example', [['v=spf1 include:_spf.other.example -all']]);
    await publish('TXT sealmail._domainkey.acme.example', [[dkimValue]]);
    await panel.getByRole('button', { name: 'Check records', exact: true }).click();
    await panel.getByRole('status').getByText(/2 of 7 right/).waitFor();
    await expect(panel.getByRole('group', { name: 'MX record acme.example' }).getByText('Right', { exact: true }).isVisible()).resolves.toBe(true);
    const spf = panel.getByRole('group', { name: 'TXT record acme.example' });
    await spf.getByText('Wrong', { exact: true }).waitFor();
    await spf.getByText('v=spf1 include:_spf.other.example -all').waitFor();
    await spf.getByText(/Add "mx"/).waitFor();
    await panel.getByRole('group', { name: 'TXT record _dmarc.acme.example' }).getByText('Missing', { exact: true }).waitFor();
    problems.push(...(await auditSizes(page, 'admin-domains-2-checked')));

    // DKIM rotation: a new key, refused until published (or confirmed), then signing switches; the old key retires.
    await panel.getByRole('button', { name: 'Make a new DKIM key', exact: true }).click();
    const nextRecord = panel.getByRole('group', { name: 'TXT record sealmail2._domainkey.acme.example' });
    await nextRecord.waitFor();
    await panel.getByRole('button', { name: 'Switch signing to sealmail2', exact: true }).click();
    await panel.getByRole('alert').getByText(/not published in DNS yet/).waitFor();
    await panel.getByRole('button', { name: 'I have published it: switch anyway', exact: true }).waitFor();
    await publish('TXT sealmail2._domainkey.acme.example', [[(await nextRecord.locator('dd code').nth(1).textContent())!]]);
    await panel.getByRole('button', { name: 'Switch signing to sealmail2', exact: true }).click();
    await panel.getByRole('status').getByText('Outbound mail is now signed with selector sealmail2').waitFor();
    await panel.getByText(/sealmail — replaced/).waitFor();
    await panel.getByRole('button', { name: 'Retire old key sealmail', exact: true }).click();
    await panel.getByRole('status').getByText('The old DKIM key is retired').waitFor();
    expect(await panel.getByRole('group', { name: 'TXT record sealmail._domainkey.acme.example' }).count()).toBe(0);

    // Removing the demo domain is refused with the reason; the new, empty one goes.
    await section.getByRole('button', { name: 'example.test', exact: true }).click();
    const demo = page.getByRole('region', { name: 'Domain example.test' });
    page.once('dialog', (d) => void d.accept());
    await demo.getByRole('button', { name: 'Remove example.test', exact: true }).click();
    await demo.getByRole('alert').getByText(/example\.test still has \d+ users: move or delete them first/).waitFor();
    await section.getByRole('button', { name: 'acme.example', exact: true }).click();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('region', { name: 'Domain acme.example' }).getByRole('button', { name: 'Remove acme.example', exact: true }).click();
    await section.getByRole('status').getByText('acme.example was removed.').waitFor();
    await section.getByRole('row', { name: /acme\.example/ }).waitFor({ state: 'detached' });

    expect(problems).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 300_000);
});
