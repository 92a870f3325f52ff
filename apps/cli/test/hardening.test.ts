/**
 * The command line against a hostile correspondent or a hostile local set-up, on a real API over
 * TLS: text from others never reaches the terminal as control sequences; files holding plaintext
 * or secrets are the owner's alone (0600), and a symlink planted where the session is kept is
 * replaced, never written through.
 */
import { lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ADMIN = 'admin@example.test';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const as = (who: string, lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);
let bobsMail = '';
const mode = async (path: string) => (await stat(path)).mode & 0o777;
// ESC, BEL, CSI (C1), a lone CR and a right-to-left override: nothing that drives a terminal.
const HOSTILE = /(?![\t\n\r])\p{Cc}|\r(?!\n)|[\u202a-\u202e\u2066-\u2069]/u;

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 60_000);
afterAll(() => s?.stop());

describe('hostile text and local files', { timeout: 120_000 }, () => {
  it('prints no control sequences from a mail (subject, text) in list, read and search', async () => {
    const subject = 'Invoice\x1b]0;owned\x07\x1b[2J\x9b31m\u202eexe.pdf';
    const sent = await as('alice', ['Dear Bob,\x1b[8m hidden\r\x1b[Kforged line', 'bye'], 'send', '--to', BOB, '--subject', subject);
    expect(sent.code, sent.err).toBe(EXIT.ok);
    const list = await as('bob', [], 'list');
    expect(list.code, list.err).toBe(EXIT.ok);
    expect(list.out).toContain('Invoice');
    expect(list.out).not.toMatch(HOSTILE);
    const id = /^([0-9a-f]{8}) /m.exec(list.out)![1]!;
    bobsMail = id;
    const read = await as('bob', [], 'read', id);
    expect(read.code, read.err).toBe(EXIT.ok);
    expect(read.out).toContain('hidden');
    expect(read.out).toContain('forged line');
    expect(read.out).not.toMatch(HOSTILE);
    const search = await as('bob', [], 'search', 'invoice');
    expect(search.out).toContain('Invoice');
    expect(search.out).not.toMatch(HOSTILE);
  });

  it('writes an export and a contacts export readable by their owner only', async () => {
    const mbox = join(s.dir, 'bob-all.mbox');
    const exported = await as('bob', [], 'export', mbox);
    expect(exported.code, exported.err).toBe(EXIT.ok);
    expect(await mode(mbox)).toBe(0o600);
    expect((await as('bob', [], 'contacts', 'add', '--name', 'Carol', '--email', 'carol@example.org')).code).toBe(EXIT.ok);
    const vcf = join(s.dir, 'bob.vcf');
    const contacts = await as('bob', [], 'contacts', 'export', vcf);
    expect(contacts.code, contacts.err).toBe(EXIT.ok);
    expect(await mode(vcf)).toBe(0o600);
  });

  it('replaces a symlink planted as the session file, and tightens a wider profile directory', async () => {
    const dir = join(s.dir, 'planted');
    await mkdir(dir, { mode: 0o755 });
    const elsewhere = join(s.dir, 'elsewhere.txt');
    await writeFile(elsewhere, 'untouched\n', { mode: 0o644 });
    await symlink(elsewhere, join(dir, 'session.json'));
    const login = await as('planted', [s.passwords[ADMIN]!], 'login', ADMIN);
    expect(login.code, login.err).toBe(EXIT.ok);
    expect(await readFile(elsewhere, 'utf8')).toBe('untouched\n');
    expect(await mode(elsewhere)).toBe(0o644);
    const session = await lstat(join(dir, 'session.json'));
    expect(session.isFile()).toBe(true);
    expect(session.mode & 0o777).toBe(0o600);
    expect(await mode(dir)).toBe(0o700);
    expect((await as('planted', [], 'whoami')).code).toBe(EXIT.ok);
  });

  it('answers a file it cannot read or write with exit 1 and a line naming it, not a stack trace', async () => {
    const missing = join(s.dir, 'no-such-dir', 'out.mbox');
    const exported = await as('bob', [], 'export', missing);
    expect(exported.code).toBe(EXIT.failure);
    expect(exported.err).toMatch(/^sealmail export: cannot write .*no-such-dir.*: no such file or directory \[ENOENT\]$/);
    const imported = await as('bob', [], 'import', join(s.dir, 'absent.mbox'));
    expect(imported.code).toBe(EXIT.failure);
    expect(imported.err).toMatch(/^sealmail import: cannot read .*absent\.mbox: no such file or directory \[ENOENT\]$/);
    const contacts = await as('bob', [], 'contacts', 'import', join(s.dir, 'absent.vcf'));
    expect(contacts.code).toBe(EXIT.failure);
    expect(contacts.err).toMatch(/cannot read .*absent\.vcf/);
    const merge = await as('bob', [], 'merge', join(s.dir, 'absent.txt'), join(s.dir, 'absent.csv'));
    expect(merge.code).toBe(EXIT.failure);
    expect(merge.err).toMatch(/^sealmail merge: cannot read .*absent\.txt: no such file or directory \[ENOENT\]$/);
    await writeFile(join(s.dir, 'a-file'), 'x');
    const save = await as('bob', [], 'attachments', bobsMail, '--save', join(s.dir, 'a-file', 'sub'));
    expect(save.code).toBe(EXIT.failure);
    expect(save.err).toMatch(/^sealmail attachments: cannot write .*a-file\/sub: (it exists already|a part of the path is not a directory) \[E(EXIST|NOTDIR)\]$/);
    // A profile directory that cannot be made (here a file is in its way): the same kind of line.
    const login = await as('a-file/profile', [s.passwords[ALICE]!], 'login', ALICE);
    expect(login.code).toBe(EXIT.failure);
    expect(login.err).toMatch(/^sealmail login: cannot use .*a-file\/profile: (it exists already|a part of the path is not a directory) \[E(EXIST|NOTDIR)\]$/);
  });
});
