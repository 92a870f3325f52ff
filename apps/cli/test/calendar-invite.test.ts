/**
 * `sealmail calendar respond` against a real API process over TLS (real Postgres): Alice invites
 * Bob (through the API, as the web client does); Bob accepts from the command line by the event's
 * title; Alice's event then shows his answer. A word other than accept/tentative/decline is a
 * usage error, and an event that is not there is named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { httpsFetch } from '@sealmail/client/node';
import { calendarList, eventCreate, eventGet } from '@sealmail/contract';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../src/cli';
import { loadSession } from '../src/profile';
import { startCliStack, type CliStack } from './support';

let stack: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
beforeAll(async () => {
  stack = await startCliStack();
}, 60_000);
afterAll(() => stack?.stop());

const as = (profile: string, lines: string[], ...argv: string[]) => stack.cliAs(profile, lines, ...argv, '--ca', stack.caFile);

describe('sealmail calendar respond', () => {
  it('answers an invitation; the organizer sees the answer', { timeout: 120_000 }, async () => {
    expect((await as('bob', [stack.passwords[BOB]!], 'login', BOB, '--api', stack.url)).code).toBe(EXIT.ok);
    // Alice's session from her own CLI sign-in (calendar routes want a device, as every client has).
    expect((await as('alice', [stack.passwords[ALICE]!], 'login', ALICE, '--api', stack.url)).code).toBe(EXIT.ok);
    const { token } = (await loadSession(join(stack.dir, 'alice')))!;
    const alice = new ApiClient({ baseUrl: stack.url, fetch: httpsFetch(readFileSync(stack.caFile, 'utf8')), token });
    const cal = (await alice.request(calendarList, {})).calendars[0]!.id;
    const start = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const ev = await alice.request(eventCreate, { params: { id: cal }, body: { title: 'Quarterly planning', start: `${start}T09:00`, end: `${start}T10:00`, startTz: 'UTC', attendees: [{ email: BOB }] } });

    const bad = await as('bob', [], 'calendar', 'respond', 'Quarterly planning', 'maybe');
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('accept|tentative|decline');
    const missing = await as('bob', [], 'calendar', 'respond', 'No such meeting', 'accept');
    expect(missing.code).toBe(EXIT.failure);
    expect(missing.err).toContain('no event of yours is "No such meeting"');

    const ok = await as('bob', [], 'calendar', 'respond', 'Quarterly planning', 'accept');
    expect(ok.err).toBe('');
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.out).toContain('accepted: Quarterly planning');
    const after = await alice.request(eventGet, { params: { id: cal, eventId: ev.id } });
    expect(after.attendees).toEqual([expect.objectContaining({ email: BOB, partstat: 'ACCEPTED' })]);
  });
});
