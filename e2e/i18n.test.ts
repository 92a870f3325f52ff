/**
 * The web client in German and English, in Chromium on the start command's stack: a browser
 * whose language is de-DE gets German from the first screen on (sign-in, backup key, mailbox,
 * reader with German date formatting, compose), `<html lang>` follows, and German screens do not
 * scroll sideways on a 390 px phone. The language picker on the sign-in screen switches to
 * English and the choice survives a reload. A too-short backup key on the pending-device screen
 * is answered with what a backup key looks like, in the chosen language.
 *
 * Screenshots go to e2e/screenshots/ (or SEALMAIL_SCREENSHOTS), named i18n-*.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, printedPasswords, repoRoot, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';

// eslint-disable-next-line sealmail/no-process-env -- where this test run writes its screenshots, not server configuration
const shots = process.env.SEALMAIL_SCREENSHOTS || join(repoRoot, 'e2e', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ALICE = 'alice@example.test';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

/** A browser profile whose languages are German first (navigator.languages and Accept-Language). */
async function germanProfile(size = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: size, locale: 'de-DE' });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${ports.web}/`);
  return { context, page };
}

/** A screenshot at both sizes; at each, the page must not be wider than the window. */
async function shoot(page: Page, name: string) {
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: join(shots, `i18n-${name}-${size.width}x${size.height}.png`), fullPage: true });
    const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    expect(w.scroll, `${name} at ${size.width} px`).toBeLessThanOrEqual(w.inner);
  }
  await page.setViewportSize(DESKTOP);
}

const lang = (page: Page) => page.evaluate(() => document.documentElement.lang);

async function mailFromOutside(to: string, subject: string, text: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to, subject, text });
  transport.close();
}

async function signInGerman(page: Page) {
  await page.getByLabel('E-Mail-Adresse').fill(ALICE);
  await page.getByLabel('Passwort').fill(passwords[ALICE]!);
  await page.getByRole('button', { name: 'Anmelden' }).click();
}

describe('languages', () => {
  it('German from the browser language, German dates, English by choice, and a backup key explained', async () => {
    // First device, German throughout: sign-in, backup key, mailbox, reader, compose.
    const a = await germanProfile();
    await a.page.getByRole('heading', { name: 'Bei Sealmail anmelden' }).waitFor();
    expect(await lang(a.page)).toBe('de');
    await shoot(a.page, 'sign-in-de');
    await signInGerman(a.page);
    await a.page.getByRole('heading', { name: 'Sichern Sie Ihren Wiederherstellungsschlüssel' }).waitFor();
    await shoot(a.page, 'backup-key-de');
    const backupKey = (await a.page.getByLabel('Wiederherstellungsschlüssel', { exact: true }).textContent())!;
    const groups = backupKey.split('-');
    await a.page.getByLabel('Gruppe 3 Ihres Wiederherstellungsschlüssels').fill(groups[6]!);
    await a.page.getByLabel('Gruppe 7 Ihres Wiederherstellungsschlüssels').fill(groups[2]!);
    await a.page.getByRole('button', { name: 'Ich habe ihn gesichert' }).click();
    await a.page.getByRole('alert').getByText('Das passt nicht zu Ihrem Wiederherstellungsschlüssel').waitFor();
    await a.page.getByLabel('Gruppe 3 Ihres Wiederherstellungsschlüssels').fill(groups[2]!);
    await a.page.getByLabel('Gruppe 7 Ihres Wiederherstellungsschlüssels').fill(groups[6]!);
    await a.page.getByRole('button', { name: 'Ich habe ihn gesichert' }).click();

    const folders = a.page.getByRole('navigation', { name: 'Ordner' });
    await folders.getByRole('button', { name: 'Posteingang' }).waitFor();
    await folders.getByRole('button', { name: 'Papierkorb' }).waitFor();
    await mailFromOutside(ALICE, 'Quartalsplanung für das gesamte Entwicklungsteam', 'Hallo Alice,\n\ndie Tagesordnung folgt.\n\nErin');
    const row = a.page.getByRole('region', { name: 'Nachrichten' }).getByRole('button', { name: /Quartalsplanung/ });
    await row.waitFor({ timeout: 30_000 });
    // The list reads its hidden words in German too ("Ungelesen: … von …").
    expect(await row.getAttribute('class')).toContain('unread');
    expect(await row.textContent()).toMatch(/^Ungelesen: Quartalsplanung für das gesamte Entwicklungsteam von erin@outside\.example/);
    await shoot(a.page, 'mailbox-de');

    await row.click();
    const article = a.page.getByRole('article', { name: 'Nachricht von erin@outside.example' });
    await article.waitFor();
    // German date formatting: day.month.year, 24-hour time (dateStyle medium in de-DE).
    const date = (await article.locator('dt', { hasText: 'Datum' }).locator('xpath=following-sibling::dd[1]').textContent())!;
    expect(date).toMatch(/^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/);
    await article.getByText('Serververschlüsselt').waitFor();
    await shoot(a.page, 'reader-de');

    await a.page.getByRole('button', { name: 'Verfassen' }).first().click();
    const compose = a.page.getByRole('dialog', { name: 'Verfassen' });
    await compose.getByRole('heading', { name: 'Neue Nachricht' }).waitFor();
    await shoot(a.page, 'compose-de');
    // An address that cannot be one is named with its field, before anything is sealed.
    await compose.getByLabel('An', { exact: true }).fill('bob@');
    await compose.getByRole('button', { name: 'Senden' }).click();
    await compose.getByRole('alert').getByText('Die Adresse in „An“ ist keine gültige E-Mail-Adresse: Prüfen Sie „bob@“.').waitFor();
    await compose.getByRole('button', { name: 'Schließen' }).click();

    // A second device of Alice's, on a German phone: the pending screen in German, and a
    // too-short backup key explained in German.
    const c = await germanProfile(PHONE);
    await signInGerman(c.page);
    await c.page.getByRole('heading', { name: 'Dieses Gerät bestätigen' }).waitFor();
    await c.page.getByLabel('Kein anderes Gerät? Ihr Wiederherstellungsschlüssel').fill('ABCD-EFGH');
    await c.page.getByRole('button', { name: 'Wiederherstellen' }).click();
    await c.page.getByRole('alert').getByText('Ein Wiederherstellungsschlüssel hat 32 Buchstaben und Ziffern').waitFor();
    await shoot(c.page, 'pending-device-de');

    // A third device: the same German browser, switched to English on the sign-in screen.
    const b = await germanProfile();
    await b.page.getByLabel('Sprache').selectOption('en');
    await b.page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor();
    expect(await lang(b.page)).toBe('en');
    // Remembered on this device: a reload stays English although the browser prefers German.
    await b.page.reload();
    await b.page.getByRole('heading', { name: 'Sign in to Sealmail' }).waitFor();
    expect(await b.page.getByLabel('Language').inputValue()).toBe('en');
    await b.page.getByLabel('E-mail address').fill(ALICE);
    await b.page.getByLabel('Password').fill(passwords[ALICE]!);
    await b.page.getByRole('button', { name: 'Sign in' }).click();
    await b.page.getByRole('heading', { name: 'Approve this device' }).waitFor();
    await b.page.getByLabel('No other device? Your backup key').fill('ABCD-EFGH');
    await b.page.getByRole('button', { name: 'Recover' }).click();
    const alert = b.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('A backup key has 32 letters and digits (8 groups of 4, like 040H-DD9W-…); you typed 8. Copy it again from where you saved it.');
    // The developer's message never reaches the screen.
    expect(await b.page.getByText('expected 32 characters').count()).toBe(0);

    expect(errors).toEqual([]);
    for (const d of [a, b, c]) await d.context.close();
  });
});
