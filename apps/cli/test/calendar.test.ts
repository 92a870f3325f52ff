/**
 * The CLI's calendar commands against a real API process over TLS and a real Postgres: create an
 * event, see it in the agenda, import an .ics file and export the calendar to a file that holds
 * both events.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let stack: CliStack;
const ALICE = 'alice@example.test';
beforeAll(async () => {
  stack = await startCliStack();
}, 60_000);
afterAll(() => stack?.stop());

const as = (lines: string[], ...argv: string[]) => stack.cliAs('laptop', lines, ...argv, '--ca', stack.caFile);

it('creates an event, lists the agenda, imports and exports .ics', { timeout: 120_000 }, async () => {
  expect((await as([stack.passwords[ALICE]!], 'login', ALICE, '--api', stack.url)).code).toBe(EXIT.ok);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const made = await as([], 'calendar', 'create', '--title', 'Dentist', '--start', `${tomorrow}T09:00`, '--end', `${tomorrow}T09:30`, '--tz', 'UTC', '--location', 'Main St 1');
  expect(made.code, made.err).toBe(EXIT.ok);
  expect(made.out).toMatch(new RegExp(`^created [0-9a-f-]{36} in Calendar: Dentist, ${tomorrow} 09:00–${tomorrow} 09:30 UTC$`));

  const agenda = await as([], 'calendar', 'agenda', '--days', '3', '--tz', 'UTC');
  expect(agenda.code, agenda.err).toBe(EXIT.ok);
  expect(agenda.out).toContain(`${tomorrow} 09:00–09:30  Dentist  (Main St 1)`);
  expect((await as([], 'calendar', 'agenda', '--days', 'many')).code).toBe(EXIT.usage);

  const file = join(stack.dir, 'trip.ics');
  const day = tomorrow.replaceAll('-', '');
  await writeFile(file, `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:trip-1@example.org\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:${day}T150000Z\r\nDTEND:${day}T160000Z\r\nSUMMARY:Train to Berlin\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`);
  const imported = await as([], 'calendar', 'import', file);
  expect(imported.code, imported.err).toBe(EXIT.ok);
  expect(imported.out).toBe('imported into Calendar: 1 new, 0 updated');

  const out = join(stack.dir, 'export.ics');
  const exported = await as([], 'calendar', 'export', 'Calendar', out);
  expect(exported.code, exported.err).toBe(EXIT.ok);
  const text = await readFile(out, 'utf8');
  expect(text).toContain('SUMMARY:Dentist');
  expect(text).toContain('UID:trip-1@example.org');
  expect(text.startsWith('BEGIN:VCALENDAR')).toBe(true);
  const missing = await as([], 'calendar', 'export', 'Nope');
  expect(missing.code).toBe(EXIT.failure);
  expect(missing.err).toContain('No calendar named "Nope"');
});
