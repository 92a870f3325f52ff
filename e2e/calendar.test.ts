/**
 * The Calendar view on the start command's stack, in Chromium: Alice opens Calendar from the mail
 * navigation, creates a weekly event in the editor, and sees it in the week and month views at
 * 1280×800 and in the agenda (the phone's default view) at 390×844. axe-core finds no serious or
 * critical violation on any of them, and the page does not scroll sideways. Screenshots go to
 * e2e/screenshots/ (or SEALMAIL_SCREENSHOTS).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { axeProblems, confirmBackupKey, launchChromium, printedPasswords, screenshotsDir, settle, sidewaysProblem, stackEnvironment, startSealmail, type Started, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';

beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  running = await startSealmail(env);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

async function audit(page: Page, name: string): Promise<void> {
  await settle(page);
  await page.screenshot({ path: join(screenshotsDir, `calendar-${name}.png`) });
  expect(await axeProblems(page), name).toEqual([]);
  expect(await sidewaysProblem(page), `${name} scrolls sideways`).toBeNull();
}

const pad = (n: number) => String(n).padStart(2, '0');
const local = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

describe('the Calendar view', () => {
  it('creates a weekly event in the editor and shows it in week, month and (phone) agenda views', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`https://localhost:${ports.web}/`);
    await page.getByLabel('E-mail address').fill(ALICE);
    await page.getByLabel('Password').fill(passwords[ALICE]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await confirmBackupKey(page);
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Calendar' }).click();
    await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
    expect(await page.getByRole('button', { name: 'Week', pressed: true }).count()).toBe(1);

    // Monday of this week, 10:00 on the browser's clock, weekly on Monday, 8 times.
    const today = new Date();
    const monday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - ((today.getDay() + 6) % 7));
    await page.getByRole('button', { name: 'New event' }).click();
    const editor = page.getByRole('dialog', { name: 'New event' });
    await editor.getByLabel('Title', { exact: true }).fill('Team sync');
    await editor.getByLabel('Starts', { exact: true }).fill(`${local(monday)}T10:00`);
    await editor.getByLabel('Ends', { exact: true }).fill(`${local(monday)}T11:00`);
    await editor.getByLabel('Repeat', { exact: true }).selectOption('weekly');
    await editor.getByRole('checkbox', { name: 'Mon', exact: true }).check();
    await editor.getByLabel('Repeat ends').selectOption('count');
    await editor.getByLabel('After a number of times').fill('8');
    await audit(page, 'editor-desktop');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.waitFor({ state: 'detached' });

    const mondayName = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(monday);
    await page.getByRole('region', { name: mondayName }).getByRole('button', { name: /10:00–11:00 Team sync/ }).waitFor();
    await audit(page, 'week-desktop');

    await page.getByRole('button', { name: 'Month' }).click();
    const nextMonday = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 7);
    const nextName = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(nextMonday);
    // This Monday and the next carry it; Tuesday does not. This week is always in the month's
    // grid; the next one is not when this week is the grid's last row (on Monday 30 November 2026
    // the grid ended on 6 December), and then it is in the next month's.
    await page.getByRole('region', { name: mondayName }).getByRole('button', { name: /Team sync/ }).waitFor();
    const tuesday = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 1));
    expect(await page.getByRole('region', { name: tuesday }).getByRole('button', { name: /Team sync/ }).count()).toBe(0);
    await audit(page, 'month-desktop');
    const nextInGrid = (await page.getByRole('region', { name: nextName }).count()) > 0;
    if (!nextInGrid) await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('region', { name: nextName }).getByRole('button', { name: /Team sync/ }).waitFor();

    // The day view: one day, today.
    await page.getByRole('button', { name: 'Day', exact: true }).click();
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByRole('button', { name: 'Today' }).click();
    const todayName = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(today);
    await page.getByRole('region', { name: todayName }).waitFor();
    expect(await page.getByRole('region').count()).toBe(1);
    if (today.getDay() === 1) await page.getByRole('region', { name: todayName }).getByRole('button', { name: /Team sync/ }).waitFor();
    await audit(page, 'day-desktop');

    // A phone: the calendar opens on the agenda.
    await page.getByRole('button', { name: '← Mail' }).click();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => (window.location.hash = 'calendar'));
    await page.getByRole('button', { name: 'Agenda', pressed: true }).waitFor();
    await page.getByRole('region', { name: nextName }).getByRole('button', { name: /Team sync/ }).waitFor();
    await audit(page, 'agenda-phone');

    // Edit only that occurrence: it is renamed, the others keep their title.
    await page.getByRole('region', { name: nextName }).getByRole('button', { name: /Team sync/ }).click();
    const edit = page.getByRole('dialog', { name: 'Edit event' });
    await expect.poll(() => edit.getByLabel('Title', { exact: true }).inputValue()).toBe('Team sync');
    expect(await edit.getByRole('radio', { name: 'This occurrence' }).isChecked()).toBe(true);
    await edit.getByLabel('Title', { exact: true }).fill('Team sync (moved)');
    await audit(page, 'editor-phone');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await page.getByRole('region', { name: nextName }).getByRole('button', { name: /Team sync \(moved\)/ }).waitFor();
    const later = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 14));
    expect(await page.getByRole('region', { name: later }).getByRole('button', { name: /Team sync$/ }).count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});
