/**
 * `sealmail merge <template> <csv>` against a real API over TLS: a preview flags the bad rows and
 * sends nothing; the merge sends one individually sealed mail per good row (bob gets his, filled
 * from his row, E2E Encrypted), reports each row, and exits 1 because a row was not sent.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { parseTemplateFile } from '../src/merge-command';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const as = (who: 'alice' | 'bob' | 'admin', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 60_000);
afterAll(() => s?.stop());

describe('sealmail merge', () => {
  it('reads a template file: a Subject line, a blank line, the text', () => {
    expect(parseTemplateFile('Subject: Hi {{name}}\n\nDear {{name}}\n')).toEqual({ subject: 'Hi {{name}}', text: 'Dear {{name}}\n' });
    expect(parseTemplateFile('No subject here\n')).toEqual({ subject: '', text: 'No subject here\n' });
  });

  it('previews, then sends one sealed mail per good row and reports the rest', { timeout: 120_000 }, async () => {
    const template = join(s.dir, 'invite.txt');
    const csv = join(s.dir, 'people.csv');
    await writeFile(template, 'Subject: Invitation for {{name}}\r\n\r\nDear {{name}}, your seat is {{seat}}.\r\n');
    await writeFile(csv, `email,name,seat\n${BOB},Bob,A7\nbroken,Nobody,B1\n`);

    const preview = await as('alice', [], 'merge', template, csv, '--preview');
    expect(preview.code).toBe(EXIT.failure);
    expect(preview.out).toContain(`row 1\t${BOB}\tInvitation for Bob`);
    expect(preview.out).toContain('row 2\tbroken\tNOT SENT: "broken" is not an e-mail address');
    expect(preview.out).toContain('1 of 2 rows ready (preview only: nothing sent)');
    expect((await as('bob', [], 'list')).out).not.toContain('Invitation');

    const run = await as('alice', [], 'merge', template, csv);
    expect(run.code, run.err).toBe(EXIT.failure);
    expect(run.out).toContain(`[1/2] row 1 ${BOB}: sent`);
    expect(run.out).toContain('[2/2] row 2 broken: skipped');
    expect(run.out).toContain('merge: 1 sent, 0 failed, 1 not sent');
    const list = await as('bob', [], 'list');
    expect(list.out).toMatch(/alice@example\.test.*E2E Encrypted\s+Invitation for Bob/);
    const read = await as('bob', [], 'read', list.out.split(' ')[0]!);
    expect(read.out).toContain('Dear Bob, your seat is A7.');

    expect((await as('alice', [], 'merge', template)).code).toBe(EXIT.usage);
  });
});
