/**
 * The web client as a product (issue 17), in Chromium on the start command's stack, at 1280×800
 * and 390×844: the account menu (a keyboard-operable menu button) leads to Settings; a device is
 * renamed and keeps its name after a reload; the dark theme applies and is remembered; the tab's
 * title counts unread mail as it arrives; a desktop notification shows for new mail when the user
 * turned them on and the tab is hidden; a toast clears itself and its Undo brings an archived mail
 * back; "?" lists the shortcuts, which work (and do not fire while typing); a keyboard-only walk
 * reaches every control with a visible focus ring; axe-core finds no serious or critical violation
 * on the new screens in both themes. Screenshots go to e2e/screenshots/ (or SEALMAIL_SCREENSHOTS).
 *
 * Two things a test cannot make a headless browser do are arranged in the page: the tab being in
 * the background (document.visibilityState is set to "hidden") and the Notification constructor
 * is wrapped to record what it was asked to show (the real one still runs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, DESKTOP, keyboardWalk, launchChromium, openSettings, PHONE, printedPasswords, type Size, stackEnvironment, stackTransport, type Started, startSealmail, stopSealmail } from './support';


const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const errors: string[] = [];
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
/** Alice's browser, kept for the keyboard walk (a new profile would be a new device to approve). */
let alice: { context: BrowserContext; page: Page };

beforeAll(async () => {
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

const origin = () => `https://localhost:${ports.web}`;

/** A browser profile at `size`, signed in as `address` with its first device set up. */
async function signedIn(address: string, size: Size): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: size });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin()}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('button', { name: /^Account: / }).waitFor();
  return { context, page };
}

async function mailFromOutside(to: string, subject: string, text: string) {
  const transport = await stackTransport(dataDir, ports.smtp);
  await transport.sendMail({ from: '"Erin Outside" <erin@outside.example>', to, subject, text });
  transport.close();
}

/** A screenshot at both sizes; the audit and the no-sideways-scrolling check at each (support.ts). */
const problems: string[] = [];
async function bothSizes(page: Page, name: string) {
  problems.push(...(await auditSizes(page, name)));
}

const theme = (page: Page) => page.evaluate(() => document.documentElement.dataset.theme);

describe('account menu, settings, title, notifications, toasts, shortcuts', () => {
  it('the account menu works by keyboard and leads to Settings; a renamed device keeps its name after a reload', async () => {
    alice = await signedIn(ALICE, DESKTOP);
    const { page } = alice;
    await bothSizes(page, 'web-10-mailbox-header');

    // Menu button: Enter opens it on the first item, arrows move, Escape closes it back onto the button.
    const account = page.getByRole('button', { name: 'Account: Alice Example' });
    await account.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu', { name: 'Account' });
    await menu.waitFor();
    expect(await account.getAttribute('aria-expanded')).toBe('true');
    const focusedName = () => page.evaluate(() => document.activeElement?.textContent?.trim());
    await expect.poll(focusedName).toBe('Settings');
    await page.keyboard.press('ArrowDown');
    expect(await focusedName()).toBe('Keyboard shortcuts');
    await page.keyboard.press('End');
    expect(await focusedName()).toBe('Sign out');
    await page.getByText('Signed in as').waitFor({ state: 'attached' });
    expect(await page.locator('.account-popup .who').textContent()).toContain(ALICE);
    await bothSizes(page, 'web-11-account-menu');
    await account.focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(focusedName).toBe('Settings');
    await page.keyboard.press('Escape');
    expect(await menu.isVisible()).toBe(false);
    expect(await account.evaluate((el) => el === document.activeElement)).toBe(true);

    await openSettings(page, 'Alice Example');
    expect(new URL(page.url()).hash).toBe('#settings');

    // This device is named from the browser by default, marked, with when it was added.
    const devices = page.getByRole('region', { name: 'Devices' });
    const mine = devices.getByRole('row').filter({ hasText: '(this device)' });
    await mine.getByRole('cell', { name: 'approved', exact: true }).waitFor();
    expect(await mine.getByRole('cell').first().textContent()).toContain('Chrome on Linux');
    expect(await mine.getByRole('cell', { name: 'now', exact: true }).count()).toBe(1);
    await bothSizes(page, 'web-12-settings');

    await mine.getByRole('button', { name: 'Rename Chrome on Linux' }).click();
    await devices.getByLabel('New name for Chrome on Linux').fill('Work laptop');
    await devices.getByRole('button', { name: 'Save' }).click();
    await devices.getByRole('row', { name: 'Device Work laptop' }).waitFor();
    await page.reload();
    const renamed = page.getByRole('region', { name: 'Devices' }).getByRole('row', { name: 'Device Work laptop' });
    await renamed.waitFor();
    expect(await renamed.textContent()).toContain('set up as “Chrome on Linux”');
    // The sessions list names the session by the device's new name.
    await page.getByRole('region', { name: 'Sessions' }).getByRole('row', { name: /^Session Work laptop \(this session\)/ }).waitFor();

    // The display name: changed here, shown in the account menu.
    const profile = page.getByRole('region', { name: 'Profile' });
    await profile.getByRole('textbox', { name: 'Display name' }).fill('Alice Liddell');
    await profile.getByRole('button', { name: 'Save name' }).click();
    await profile.getByRole('status').getByText('Your display name is now “Alice Liddell”.').waitFor();
    await page.getByRole('button', { name: 'Account: Alice Liddell' }).waitFor();
    await profile.getByRole('textbox', { name: 'Display name' }).fill('Alice <x>');
    await profile.getByRole('button', { name: 'Save name' }).click();
    await profile.getByRole('alert').getByText('A display name cannot contain <, > or ": remove them.').waitFor();

    // Back to the mailbox from the settings page's own control.
    await page.getByRole('button', { name: 'Back to mail' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    expect(new URL(page.url()).hash).toBe('');

    // The new name is the From of the mail she sends now (a note to herself shows it).
    await page.keyboard.press('c');
    const compose = page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(ALICE);
    await compose.getByLabel('Subject').fill('Note to self');
    await compose.getByRole('textbox', { name: 'Message' }).fill('Remember the milk.');
    await compose.getByRole('button', { name: 'Send' }).click();
    await page.locator('.toasts').getByText('Sent.').waitFor({ timeout: 60_000 });
    const note = page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Note to self/ });
    await note.waitFor({ timeout: 30_000 });
    await note.click();
    await page.getByRole('article', { name: `Message from ${ALICE}` }).getByText(`Alice Liddell <${ALICE}>`).waitFor();
    expect(errors).toEqual([]);
  });

  it('the dark theme applies at once, is remembered, and follows the system when asked', async () => {
    const { context, page } = await signedIn(BOB, DESKTOP);
    await openSettings(page, 'Bob Example');
    expect(await theme(page)).toBe('light');
    const appearance = page.getByRole('region', { name: 'Appearance' });
    await appearance.getByRole('radio', { name: 'Dark' }).check();
    expect(await theme(page)).toBe('dark');
    const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.settings-main')!).backgroundColor);
    expect(bg).toBe('rgb(27, 32, 40)');
    await page.getByRole('link', { name: 'Appearance' }).click();
    await bothSizes(page, 'web-13-settings-dark');
    await page.reload();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(await theme(page)).toBe('dark');
    expect(await page.getByRole('region', { name: 'Appearance' }).getByRole('radio', { name: 'Dark' }).isChecked()).toBe(true);
    // The mailbox and the shortcuts overlay in the dark theme.
    await page.getByRole('button', { name: 'Back to mail' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    await bothSizes(page, 'web-14-mailbox-dark');
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await bothSizes(page, 'web-15-shortcuts-dark');
    await page.keyboard.press('Escape');

    // Follow the system: dark while the system is dark, light when it turns light.
    await openSettings(page, 'Bob Example');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('region', { name: 'Appearance' }).getByRole('radio', { name: 'Follow the system' }).check();
    expect(await theme(page)).toBe('dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => theme(page)).toBe('light');
    await page.getByRole('region', { name: 'Appearance' }).getByRole('radio', { name: 'Light' }).check();

    // The settings page and the account menu in German, chosen in the Language section.
    await page.getByRole('region', { name: 'Language' }).getByLabel('Language').selectOption('de');
    await page.getByRole('heading', { name: 'Einstellungen', level: 1 }).waitFor();
    await page.getByRole('region', { name: 'Darstellung' }).getByRole('radio', { name: 'Wie das System' }).waitFor();
    await page.getByRole('button', { name: 'Konto: Bob Example' }).click();
    await page.getByRole('menuitem', { name: 'Tastenkürzel' }).waitFor();
    await page.keyboard.press('Escape');
    await bothSizes(page, 'web-18-settings-german');
    await page.getByRole('region', { name: 'Sprache' }).getByLabel('Sprache').selectOption('en');
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await context.close();
    expect(errors).toEqual([]);
  });

  it('the title counts unread mail; a notification shows when allowed and the tab is hidden; toasts clear; Undo brings an archived mail back', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
    await context.grantPermissions(['notifications'], { origin: origin() });
    // Records what the page asks to notify (the real Notification still runs).
    await context.addInitScript(() => {
      const Real = window.Notification;
      const shown: { title: string; body: string }[] = [];
      (window as unknown as { shown: typeof shown }).shown = shown;
      window.Notification = class extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          shown.push({ title, body: options?.body ?? '' });
        }
      } as typeof Notification;
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin()}/`);
    await page.getByLabel('E-mail address').fill(ADMIN);
    await page.getByLabel('Password').fill(passwords[ADMIN]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    await expect.poll(() => page.title()).toBe('Inbox — Sealmail');

    // New mail while the tab is shown: the count in the title, no notification (not opted in yet).
    await mailFromOutside(ADMIN, 'Lunch on Friday?', 'Shall we?');
    const messages = page.getByRole('region', { name: 'Messages' });
    await messages.getByRole('button', { name: /Lunch on Friday/ }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(1) Inbox — Sealmail');

    // Opting in: the browser's permission is asked only from this click.
    await openSettings(page, 'Demo Admin');
    const notifications = page.getByRole('region', { name: 'Notifications' });
    await notifications.getByRole('button', { name: 'Turn on desktop notifications' }).click();
    await notifications.getByRole('status').getByText('Desktop notifications are on in this browser.').waitFor();
    await page.getByRole('button', { name: 'Back to mail' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    // The tab goes to the background.
    await page.evaluate(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' }));
    // Delivery, the event and the decryption on the device: a loaded run once needed over 30 s.
    await mailFromOutside(ADMIN, 'The minutes of Tuesday', 'Attached below.');
    await expect.poll(() => page.evaluate(() => (window as unknown as { shown: unknown[] }).shown), { timeout: 90_000 }).toEqual([{ title: 'Erin Outside', body: 'The minutes of Tuesday' }]);
    await expect.poll(() => page.title(), { timeout: 15_000 }).toBe('(2) Inbox — Sealmail');
    await page.evaluate(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' }));

    // Archive: a toast with Undo; Undo moves the mail back to the Inbox.
    const row = messages.getByRole('button', { name: /Lunch on Friday/ });
    await row.click();
    await page.getByRole('article', { name: 'Message from erin@outside.example' }).waitFor();
    await expect.poll(() => page.title()).toBe('(1) Inbox — Sealmail');
    await page.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Archive' }).click();
    const toasts = page.locator('.toasts');
    await toasts.getByText('Archived.').waitFor();
    expect(await row.count()).toBe(0);
    await bothSizes(page, 'web-16-toast-undo');
    await toasts.getByRole('button', { name: 'Undo' }).click();
    await toasts.getByText('Moved back to Inbox.').waitFor();
    await row.waitFor();
    // The toast clears itself once the pointer leaves it (it waits while pointer or focus is on it).
    await page.mouse.move(2, 2);
    await toasts.getByText('Moved back to Inbox.').waitFor({ state: 'detached', timeout: 20_000 });

    // Shortcuts: j moves to a row, o opens it, e archives it, Escape and "g i" go back.
    await page.locator('body').click({ position: { x: 640, y: 700 } });
    await page.keyboard.press('j');
    await expect.poll(() => page.evaluate(() => document.activeElement?.classList.contains('row'))).toBe(true);
    await page.keyboard.press('k');
    await row.focus();
    await page.keyboard.press('o');
    await page.getByRole('article', { name: 'Message from erin@outside.example' }).waitFor();
    await page.keyboard.press('e');
    await toasts.getByText('Archived.').waitFor();
    await toasts.getByText('Archived.').waitFor({ state: 'detached', timeout: 20_000 });
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Archive' }).click();
    await messages.getByRole('heading', { name: 'Archive' }).waitFor();
    await messages.getByRole('button', { name: /Lunch on Friday/ }).waitFor();
    await page.keyboard.press('g');
    await page.keyboard.press('i');
    await messages.getByRole('heading', { name: 'Inbox' }).waitFor();
    // Not while typing: "c" in the search box is a letter, not Compose.
    await page.getByRole('searchbox', { name: 'Search mail' }).fill('');
    await page.getByRole('searchbox', { name: 'Search mail' }).press('c');
    expect(await page.getByRole('dialog', { name: 'Compose' }).count()).toBe(0);
    expect(await page.getByRole('searchbox', { name: 'Search mail' }).inputValue()).toBe('c');

    // "?" lists the shortcuts in a dialog; Escape closes it.
    await page.locator('body').click({ position: { x: 640, y: 700 } });
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    for (const does of ['Next message', 'Previous message', 'Open the selected message', 'Compose a new message', 'Reply', 'Archive', 'Delete', 'Star or unstar', 'Search', 'Go to the Inbox']) await dialog.getByText(does, { exact: true }).waitFor();
    await bothSizes(page, 'web-17-shortcuts');
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(false);
    await context.close();
    expect(errors).toEqual([]);
  });

  it('keyboard only: Tab reaches every control of the mailbox and of Settings, each with a visible focus ring', async () => {
    const { context, page } = alice;
    await page.setViewportSize(DESKTOP);
    await page.getByRole('navigation', { name: 'Folders' }).waitFor();
    const mailbox = await keyboardWalk(page);
    expect(mailbox).toMatchObject({ missed: [], noRing: [] });
    // Compose, seven folders, the label field, search, the account menu at least.
    expect(mailbox.reached).toBeGreaterThanOrEqual(11);
    await openSettings(page, 'Alice Liddell');
    await page.getByRole('region', { name: 'Devices' }).getByRole('row').filter({ hasText: '(this device)' }).waitFor();
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      const settings = await keyboardWalk(page);
      expect(settings).toMatchObject({ missed: [], noRing: [] });
      expect(settings.reached).toBeGreaterThanOrEqual(20);
    }
    await context.close();
    expect(errors).toEqual([]);
  });

  afterAll(() => {
    if (problems.length) console.error(problems.join('\n'));
  });
  it('no new screen scrolls sideways or has a serious or critical accessibility violation, in either theme', () => {
    expect(problems).toEqual([]);
  });
});
