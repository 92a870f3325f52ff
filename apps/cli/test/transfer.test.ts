/**
 * `sealmail export` and `sealmail import` against a real API over TLS (docs/mail.md §10): bob
 * gets a mail with an attachment, exports his Inbox as mbox and as an EML zip, imports the mbox
 * into Archive; the imported mail reads the same (subject, text, attachment bytes), labelled
 * Imported. Bad arguments are usage errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const as = (who: 'alice' | 'bob', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 60_000);
afterAll(() => s?.stop());

describe('export and import on the command line', { timeout: 120_000 }, () => {
  it('exports a folder as mbox and EML zip, and imports the mbox into another folder', async () => {
    const file = randomBytes(200_000);
    const path = join(s.dir, 'report.bin');
    await writeFile(path, file);
    expect((await as('alice', ['From the quarterly report:', 'numbers inside.'], 'send', '--to', BOB, '--subject', 'Report', '--attach', path)).code).toBe(EXIT.ok);

    const mbox = join(s.dir, 'inbox.mbox');
    const exported = await as('bob', [], 'export', '--folder', 'inbox', mbox);
    expect(exported.code, exported.err).toBe(EXIT.ok);
    expect(exported.out).toBe(`exported 1 message to ${mbox}`);
    const text = (await readFile(mbox)).toString('latin1');
    expect(text).toMatch(/^From alice@example\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);

    const zip = join(s.dir, 'inbox.zip');
    expect((await as('bob', [], 'export', '--folder', 'inbox', '--format', 'eml-zip', zip)).code).toBe(EXIT.ok);
    expect(Object.keys(unzipSync(await readFile(zip)))).toEqual([expect.stringMatching(/^00001-Report\.eml$/)]);

    const imported = await as('bob', [], 'import', '--folder', 'archive', mbox);
    expect(imported.code, imported.err).toBe(EXIT.ok);
    expect(imported.out).toBe('imported 1 message into archive');
    const list = await as('bob', [], 'list', '--folder', 'archive');
    expect(list.out).toMatch(/alice@example\.test\s+Imported\s+Report {2}\[1 att\]/);
    const id = list.out.split(' ')[0]!;
    expect((await as('bob', [], 'read', id)).out).toContain('From the quarterly report:');
    const saveDir = join(s.dir, 'saved');
    expect((await as('bob', [], 'attachments', id, '--save', saveDir)).code).toBe(EXIT.ok);
    expect(sha(await readFile(join(saveDir, 'report.bin')))).toBe(sha(file));
  });

  it('refuses a bad format or folder, and a missing file name, as usage errors', async () => {
    expect((await as('bob', [], 'export', '--format', 'pst', join(s.dir, 'x'))).code).toBe(EXIT.usage);
    expect((await as('bob', [], 'import', '--folder', 'drafts', join(s.dir, 'inbox.mbox'))).code).toBe(EXIT.usage);
    expect((await as('bob', [], 'export')).code).toBe(EXIT.usage);
  });
});
