/**
 * Invitations in Chromium on the start command's stack (docs/calendar.md "Invitations"): Alice
 * drags out a slot in the week view (the editor opens with its times), makes it weekly and invites
 * Bob; Bob's mail shows the invitation card, he accepts there; both week views show the event and
 * Alice's editor shows Bob's answer. Then Alice drags the event's bottom edge to make it longer,
 * and drags it to Thursday (that occurrence only; next week's stays on Wednesday). An iCalendar
 * part in end-to-end-encrypted mail is shown to the server only when the reader asks, and a
 * CANCEL from a guest is not shown as a cancellation.
 * Screenshots at 1280×800 and 390×844 (e2e/screenshots), axe-core on each.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { auditSizes, confirmBackupKey, DESKTOP, launchChromium, printedPasswords, screenshotsDir, stackEnvironment, stackTransport, startSealmail, type Started, stopSealmail } from './support';

const { dataDir, ports, env } = await stackEnvironment();
let running: Started;
let browser: Browser;
let passwords: Record<string, string>;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';

/** DNS is outside this machine: the stack reads its answers from this table (SEALMAIL_DNS_TABLE, test-only). outside.example lets 127.0.0.1 send its mail (SPF). */
const dnsFile = join(dataDir, 'dns.json');

beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  await writeFile(dnsFile, JSON.stringify({ 'TXT outside.example': [['v=spf1 ip4:127.0.0.1 -all']] }));
  Object.assign(env, { SEALMAIL_DNS_TABLE: dnsFile });
  // The start command builds the front ends first: slow on a busy machine.
  running = await startSealmail(env, 400_000);
  passwords = printedPasswords(running.output());
  browser = await launchChromium();
}, 420_000);
afterAll(async () => {
  await browser?.close();
  await stopSealmail(running, dataDir);
});

const pad = (n: number) => String(n).padStart(2, '0');
const local = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

async function signIn(address: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: DESKTOP });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`https://localhost:${ports.web}/`);
  await page.getByLabel('E-mail address').fill(address);
  await page.getByLabel('Password').fill(passwords[address]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await confirmBackupKey(page);
  await page.getByRole('region', { name: 'Messages' }).waitFor({ timeout: 60_000 });
  return { page, errors };
}
async function openCalendar(page: Page) {
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('button', { name: 'Calendar' }).click();
  await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Week', pressed: true }).waitFor();
  // Ready to create once the calendar new events go into is known ("New event" is enabled then).
  await expect.poll(() => page.getByRole('button', { name: 'New event' }).isEnabled(), { timeout: 30_000 }).toBe(true);
}

describe('invitations in the web client', () => {
  it('drag to create a weekly event, invite a colleague, who accepts from the invitation card; both week views show it', { timeout: 600_000 }, async () => {
    const bob = await signIn(BOB);
    const alice = await signIn(ALICE);
    await openCalendar(alice.page);

    // Wednesday of this week, dragged from 10:00 to 11:30 in its time grid.
    const today = new Date();
    const monday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - ((today.getDay() + 6) % 7));
    const wednesday = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 2);
    const day = local(wednesday);
    const grid = alice.page.locator(`.cal-grid[data-day="${day}"]`);
    await grid.waitFor();
    const hourPx = 40;
    // The week scrolls inside its own box: bring 09:00 to its top so 10:00–11:30 is on screen.
    await alice.page.locator('.cal-week').evaluate((el, px) => {
      // The grid's top within the scroll box (whatever sits above the box on the page).
      const gridTop = (el.querySelector('.cal-grid') as HTMLElement).getBoundingClientRect().top - el.getBoundingClientRect().top + el.scrollTop;
      el.scrollTop = gridTop + 9 * px - 40;
    }, hourPx);
    await alice.page.locator('.cal-week').evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    const y = async (minutes: number) => (await grid.boundingBox())!.y + (minutes / 60) * hourPx;
    const x = (await grid.boundingBox())!.x + 60;
    const viewport = alice.page.viewportSize()!;
    expect(await y(10 * 60)).toBeGreaterThan(0);
    expect(await y(11 * 60 + 30)).toBeLessThan(viewport.height);
    expect(await alice.page.evaluate(([px, py]) => !!document.elementFromPoint(px!, py!)?.closest('.cal-grid'), [x, await y(10 * 60 + 2)])).toBe(true);
    await alice.page.mouse.move(x, await y(10 * 60 + 2));
    await alice.page.mouse.down();
    await alice.page.mouse.move(x, await y(11 * 60), { steps: 5 });
    await alice.page.mouse.move(x, await y(11 * 60 + 30), { steps: 5 });
    await alice.page.mouse.up();

    const editor = alice.page.getByRole('dialog', { name: 'New event' });
    await editor.waitFor();
    await expect.poll(() => editor.getByLabel('Starts', { exact: true }).inputValue()).toBe(`${day}T10:00`);
    await expect.poll(() => editor.getByLabel('Ends', { exact: true }).inputValue()).toBe(`${day}T11:30`);
    await editor.getByLabel('Title', { exact: true }).fill('Design review');
    await editor.getByLabel('Guests').fill(BOB);
    await editor.getByLabel('Repeat', { exact: true }).selectOption('weekly');
    await editor.getByRole('checkbox', { name: 'Wed', exact: true }).check();
    await editor.getByLabel('Repeat ends').selectOption('count');
    await editor.getByLabel('After a number of times').fill('4');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.waitFor({ state: 'detached', timeout: 60_000 });
    const dayName = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(wednesday);
    await alice.page.getByRole('region', { name: dayName }).getByRole('button', { name: /10:00–11:30 Design review/ }).waitFor({ timeout: 30_000 });

    // Bob's mail: the invitation, with its card.
    const row = bob.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /Invitation: Design review/ });
    await row.waitFor({ timeout: 60_000 });
    await row.click();
    const message = bob.page.getByRole('article', { name: `Message from ${ALICE}` });
    const card = message.getByRole('region', { name: 'Invitation' });
    await card.getByText('Your answer: not answered yet').waitFor({ timeout: 30_000 });
    await card.getByText('No clash with your calendar.').waitFor();
    await card.getByText(`Organizer: ${ALICE}`).waitFor();
    // The recurrence in words, and the iCalendar listed once (its body alternative is the card).
    await message.getByText('Repeats: every week on Wednesday for 4 times').waitFor();
    await expect.poll(() => message.getByRole('list', { name: 'Attachments' }).getByRole('listitem').allInnerTexts()).toEqual([expect.stringContaining('invite.ics')]);
    expect(await auditSizes(bob.page, 'calendar-invite-card')).toEqual([]);
    await card.getByRole('button', { name: 'Accept' }).click();
    await card.getByText('Your answer: accepted').waitFor({ timeout: 30_000 });
    await card.getByRole('button', { name: 'Accept', pressed: true }).waitFor();

    // Bob's week view shows it.
    await openCalendar(bob.page);
    await bob.page.getByRole('region', { name: dayName }).getByRole('button', { name: /10:00–11:30 Design review/ }).waitFor({ timeout: 30_000 });
    expect(await auditSizes(bob.page, 'calendar-invite-week-bob')).toEqual([]);

    // Alice sees Bob's answer in the editor of her event.
    const chip = alice.page.getByRole('region', { name: dayName }).getByRole('button', { name: /10:00–11:30 Design review/ });
    await chip.click();
    const edit = alice.page.getByRole('dialog', { name: 'Edit event' });
    await edit.getByRole('list', { name: 'Guests’ answers' }).getByText(`${BOB}: accepted`).waitFor({ timeout: 30_000 });
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await edit.waitFor({ state: 'detached' });
    expect(await auditSizes(alice.page, 'calendar-invite-week-alice')).toEqual([]);

    // Resizing by the bottom edge: this occurrence now ends at 12:00.
    const item = alice.page.locator(`.cal-grid[data-day="${day}"] .cal-timed li`).first();
    await item.scrollIntoViewIfNeeded();
    const box = (await item.boundingBox())!;
    await alice.page.mouse.move(box.x + box.width / 2, box.y + box.height - 2);
    await alice.page.mouse.down();
    await alice.page.mouse.move(box.x + box.width / 2, box.y + box.height + hourPx / 4, { steps: 4 });
    await alice.page.mouse.move(box.x + box.width / 2, box.y + box.height + hourPx / 2, { steps: 4 });
    await alice.page.mouse.up();
    await alice.page.getByRole('region', { name: dayName }).getByRole('button', { name: /10:00–12:00 Design review/ }).waitFor({ timeout: 30_000 });

    // Moving: dragged to Thursday, an hour later (this occurrence only; the series stays on Wednesdays).
    const thursday = new Date(wednesday.getFullYear(), wednesday.getMonth(), wednesday.getDate() + 1);
    const thursdayName = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(thursday);
    const thursdayGrid = (await alice.page.locator(`.cal-grid[data-day="${local(thursday)}"]`).boundingBox())!;
    const from = (await item.boundingBox())!;
    await alice.page.mouse.move(from.x + from.width / 2, from.y + 10);
    await alice.page.mouse.down();
    await alice.page.mouse.move(from.x + from.width / 2 + 20, from.y + 10 + hourPx / 2, { steps: 4 });
    await alice.page.mouse.move(thursdayGrid.x + thursdayGrid.width / 2, from.y + 10 + hourPx, { steps: 6 });
    await alice.page.mouse.up();
    await alice.page.getByRole('region', { name: thursdayName }).getByRole('button', { name: /11:00–13:00 Design review/ }).waitFor({ timeout: 30_000 });
    await expect.poll(() => alice.page.getByRole('region', { name: dayName }).getByRole('button', { name: /Design review/ }).count(), { timeout: 30_000 }).toBe(0);
    await alice.page.getByRole('button', { name: 'Next' }).click();
    const nextWednesday = new Date(wednesday.getFullYear(), wednesday.getMonth(), wednesday.getDate() + 7);
    const nextName = new Intl.DateTimeFormat('en', { weekday: 'long', day: 'numeric', month: 'long' }).format(nextWednesday);
    await alice.page.getByRole('region', { name: nextName }).getByRole('button', { name: /10:00–11:30 Design review/ }).waitFor({ timeout: 30_000 });

    // Keyboard: w (week) is already on; m shows the month, d the day, ? lists the keys.
    await alice.page.keyboard.press('m');
    await alice.page.getByRole('button', { name: 'Month', pressed: true }).waitFor();
    await alice.page.keyboard.press('?');
    await alice.page.getByRole('dialog', { name: 'Keyboard shortcuts' }).getByText('Go to today').waitFor();
    await alice.page.keyboard.press('Escape');
    await alice.page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor({ state: 'detached' });
    // The view keys listen again once the help is gone (an effect after the next paint): press until the week shows.
    await expect
      .poll(async () => {
        await alice.page.keyboard.press('w');
        return alice.page.getByRole('button', { name: 'Week', pressed: true }).isVisible();
      }, { timeout: 30_000 })
      .toBe(true);

    // An iCalendar part of mail encrypted end to end is the sender's secret: the card asks before
    // it shows it to the server. And a cancellation from someone who is not the organiser is not
    // shown as one: Bob (a guest) mails Alice a CANCEL of her own Design review.
    const uid = await alice.page.evaluate(async () => {
      const cal = ((await (await fetch('/api/v1/calendars')).json()) as { calendars: { id: string }[] }).calendars[0]!.id;
      const ics = (await (await fetch(`/api/v1/calendars/${cal}/export`)).text()).replace(/\r\n[ \t]/g, '');
      return /^UID:(.+)$/m.exec(ics)![1]!.trim();
    });
    const cancel = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//e2e//EN', 'METHOD:CANCEL', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20260105T090000Z', 'SEQUENCE:9', 'STATUS:CANCELLED', `ORGANIZER:mailto:${ALICE}`, 'SUMMARY:Design review', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    await bob.page.getByRole('button', { name: '← Mail' }).click();
    await bob.page.getByRole('region', { name: 'Messages' }).waitFor();
    await bob.page.keyboard.press('c');
    const compose = bob.page.getByRole('dialog', { name: 'Compose' });
    await compose.getByLabel('To', { exact: true }).fill(ALICE);
    await compose.getByLabel('Subject').fill('About the review');
    await compose.getByRole('textbox', { name: 'Message' }).fill('See the attachment.');
    await compose.locator('label.attach input[type=file]').setInputFiles({ name: 'cancel.ics', mimeType: 'text/calendar', buffer: Buffer.from(cancel) });
    await compose.getByRole('button', { name: 'Send' }).click();
    await compose.waitFor({ state: 'detached', timeout: 60_000 });

    const inspected: string[] = [];
    alice.page.on('request', (r) => void (r.url().includes('/invitations/inspect') && inspected.push(r.url())));
    await alice.page.getByRole('button', { name: '← Mail' }).click();
    const bobsMail = alice.page.getByRole('region', { name: 'Messages' }).getByRole('button', { name: /About the review/ });
    await bobsMail.waitFor({ timeout: 60_000 });
    await bobsMail.click();
    const fromBob = alice.page.getByRole('article', { name: `Message from ${BOB}` });
    const askCard = fromBob.getByRole('region', { name: 'Invitation' });
    await askCard.getByText('This invitation came encrypted end to end.', { exact: false }).waitFor({ timeout: 30_000 });
    await fromBob.getByRole('list', { name: 'Attachments' }).getByText('cancel.ics').waitFor();
    expect(inspected).toEqual([]);
    expect(await auditSizes(alice.page, 'calendar-invite-e2e-ask')).toEqual([]);
    await askCard.getByRole('button', { name: 'Show it against my calendar' }).click();
    await askCard.getByText(`it is from ${BOB}, not from its organiser ${ALICE}`, { exact: false }).waitFor({ timeout: 30_000 });
    expect(inspected).toHaveLength(1);
    await askCard.getByRole('heading', { name: 'Invitation', level: 4 }).waitFor();
    expect(await askCard.getByText('Event cancelled').count()).toBe(0);
    await askCard.getByText('Design review').waitFor();

    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });

  it('a REPLY from an outside attendee over SMTP updates their answer; a forged one from another address changes nothing', { timeout: 300_000 }, async () => {
    // The admin organizes (a user who has not signed in yet here: a first device, no approval needed).
    const alice = await signIn(ADMIN);
    // Alice invites an outside guest (the REQUEST is queued for the relay; outside.example has no mail server here).
    const made = await alice.page.evaluate(async () => {
      const cal = ((await (await fetch('/api/v1/calendars')).json()) as { calendars: { id: string }[] }).calendars[0]!.id;
      const res = await fetch(`/api/v1/calendars/${cal}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Supplier call', start: '2026-12-10T15:00', end: '2026-12-10T16:00', startTz: 'Europe/Berlin', attendees: [{ email: 'carol@outside.example' }] }),
      });
      return { status: res.status, body: (await res.json()) as { id: string; calendarId: string; uid: string } };
    });
    expect(made.status).toBe(200);
    const answerOf = () =>
      alice.page.evaluate(async (e) => ((await (await fetch(`/api/v1/calendars/${e.calendarId}/events/${e.id}`)).json()) as { attendees: { email: string; partstat: string }[] }).attendees.find((a) => a.email === 'carol@outside.example')?.partstat, made.body);
    expect(await answerOf()).toBe('NEEDS-ACTION');

    const reply = (partstat: string) =>
      ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Outside Org//Mail 1.0//EN', 'METHOD:REPLY', 'BEGIN:VEVENT', `UID:${made.body.uid}`, 'DTSTAMP:20261201T120000Z', 'SEQUENCE:0', 'DTSTART;TZID=Europe/Berlin:20261210T150000', `ORGANIZER:mailto:${ADMIN}`, `ATTENDEE;PARTSTAT=${partstat}:mailto:carol@outside.example`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const transport = await stackTransport(dataDir, ports.smtp);
    // Forged: Mallory (whose own domain passes SPF just the same) answers in Carol's name.
    await transport.sendMail({ from: 'mallory@outside.example', to: ADMIN, subject: 'Declined: Supplier call', text: 'Declined', icalEvent: { method: 'REPLY', content: reply('DECLINED') } });
    await new Promise((r) => setTimeout(r, 2000));
    expect(await answerOf()).toBe('NEEDS-ACTION');
    // Carol's own REPLY, sent from her address (SPF passes, aligned with From).
    await transport.sendMail({ from: 'carol@outside.example', to: ADMIN, subject: 'Accepted: Supplier call', text: 'Accepted', icalEvent: { method: 'REPLY', content: reply('ACCEPTED') } });
    await expect.poll(answerOf, { timeout: 60_000 }).toBe('ACCEPTED');
    transport.close();
    expect(alice.errors).toEqual([]);
  });
});
