/**
 * Mail from the command line against a real API over TLS: alice sends bob a mail with a 3 MB
 * attachment and a canary; bob lists, reads (E2E Encrypted, signature valid) and saves the
 * attachment (same SHA-256; saving again never replaces a file); bob replies; a protected key
 * file takes its passphrase before the body; Bcc shows only on the sender's copy; refusals are
 * one line and a non-zero exit; a tampered attachment leaves no file; search finds mail by a
 * word of its body, forgets deleted mail, and the index file on disk holds no plaintext.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { ApiClient } from '@sealmail/client';
import { httpsFetch } from '@sealmail/client/node';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const CANARY = `canary-cli-${randomBytes(5).toString('hex')}`;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const as = (who: 'alice' | 'bob' | 'admin', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);
const ADMIN = 'admin@example.test';
const PASSPHRASE = 'the admin passphrase, not a body line';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The id prefix of the first listed mail whose line contains `text`. */
const idOf = (listing: string, text: string) => listing.split('\n').find((l) => l.includes(text))?.split(' ')[0];
let file: Buffer;

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 60_000);
afterAll(() => s?.stop());

describe('mail on the command line', () => {
  it('send, list, read, save attachments, reply', async () => {
    file = randomBytes(3 * 1024 * 1024);
    file.write(CANARY, 100);
    const path = join(s.dir, 'plans.bin');
    await writeFile(path, file);
    const sent = await as('alice', ['Hello Bob,', CANARY, '', 'Alice'], 'send', '--to', BOB, '--subject', 'Plans for Q3', '--attach', path);
    expect(sent.code, sent.err).toBe(EXIT.ok);
    expect(sent.out).toMatch(/^sent [0-9a-f-]{36} \(E2E Encrypted\) to bob@example\.test$/);
    // On a terminal, one status line rewritten as the attachment goes up, cleared at the end.
    expect(sent.progress).toEqual(['uploading attachments: 0.0 MiB of 3.0 MiB', 'uploading attachments: 3.0 MiB of 3.0 MiB', null]);

    const list = await as('bob', [], 'list');
    expect(list.code).toBe(EXIT.ok);
    expect(list.out).toMatch(/^[0-9a-f]{8} \*.*alice@example\.test.*E2E Encrypted\s+Plans for Q3 {2}\[1 att\]$/m);
    const id = list.out.split(' ')[0]!;

    const read = await as('bob', [], 'read', id);
    expect(read.code, read.err).toBe(EXIT.ok);
    expect(read.out).toContain('Subject:  Plans for Q3');
    expect(read.out).toContain("Security: E2E Encrypted; signed by one of the sender's devices");
    expect(read.out).toContain(CANARY);
    expect(read.out).toMatch(/\[1\] plans\.bin {2}application\/octet-stream {2}3\.0 MiB/);
    expect((await as('bob', [], 'list')).out).toMatch(/^[0-9a-f]{8} {2}/); // read now

    const saveDir = join(s.dir, 'saved');
    const saved = await as('bob', [], 'attachments', id, '--save', saveDir);
    expect(saved.code, saved.err).toBe(EXIT.ok);
    expect(sha(await readFile(join(saveDir, 'plans.bin')))).toBe(sha(file));
    // Saving again keeps the first file and picks a free name.
    const again = await as('bob', [], 'attachments', id, '--save', saveDir, '--piece', '1');
    expect(again.out).toBe(`saved ${join(saveDir, 'plans (1).bin')} (3.0 MiB)`);
    expect((await readdir(saveDir)).sort()).toEqual(['plans (1).bin', 'plans.bin']);
    expect((await as('bob', [], 'attachments', id)).out).toMatch(/^\[1\] plans\.bin {2}application\/octet-stream {2}3\.0 MiB$/);

    const reply = await as('bob', ['Thanks!'], 'send', '--to', ALICE, '--subject', 'Re: Plans for Q3');
    expect(reply.code).toBe(EXIT.ok);
    expect((await as('alice', [], 'list')).out).toContain('Re: Plans for Q3');
    expect((await as('alice', [], 'list', '--folder', 'sent')).out).toMatch(/to bob@example\.test.*Plans for Q3/);
  });

  it('a protected key file takes its passphrase first, then the body; Bcc only on the sender\'s copy', async () => {
    expect((await as('admin', [s.passwords[ADMIN]!, PASSPHRASE], 'login', ADMIN, '--passphrase')).code).toBe(EXIT.ok);
    const sent = await as('admin', [PASSPHRASE, 'First line of the body', 'second line'], 'send', '--to', BOB, '--bcc', ALICE, '--subject', 'From the admin');
    expect(sent.code, sent.err).toBe(EXIT.ok);
    expect(sent.out).toMatch(/to bob@example\.test, alice@example\.test$/);

    const id = idOf((await as('bob', [], 'list')).out, 'From the admin')!;
    const read = await as('bob', [], 'read', id);
    expect(read.out).toContain('First line of the body\nsecond line');
    expect(read.out).not.toContain(PASSPHRASE);
    expect(read.out).not.toContain('Bcc:');
    expect(read.out).toMatch(/^From: {5}Demo Admin <admin@example\.test>$/m);

    const copy = await as('admin', [PASSPHRASE], 'read', sent.out.split(' ')[1]!); // the Sent copy's id
    expect(copy.out).toMatch(/^Bcc: {6}1 recipient, hidden from the others$/m);
    const wrong = await as('admin', ['not it'], 'list');
    expect([wrong.code, wrong.out]).toEqual([EXIT.failure, '']);
    expect(wrong.err).toMatch(/passphrase does not open.*\[WRONG_PASSPHRASE\]/);
  }, 60_000); // each run opens the key file with a deliberately slow passphrase KDF

  it('refusals are one clear line and a non-zero exit', async () => {
    const unknown = await as('alice', ['x'], 'send', '--to', 'nobody@example.test', '--subject', 'x');
    expect(unknown.code).toBe(EXIT.failure);
    expect(unknown.err).toMatch(/^sealmail: nobody@example\.test cannot receive end-to-end-encrypted mail from you.*\[NO_E2EE_ROUTE\]$/);
    const noId = await as('bob', [], 'read');
    expect(noId.code).toBe(EXIT.usage);
    const badFolder = await as('bob', [], 'list', '--folder', 'nope');
    expect(badFolder.code).toBe(EXIT.usage);
    expect(badFolder.err).toBe('sealmail list: Unknown folder "nope" (one of inbox, drafts, sent, outbox, archive, trash, spam).');
    expect((await as('bob', [], 'list', '--limit', '0')).code).toBe(EXIT.usage);
    expect((await as('bob', [], 'read', 'zzzz')).code).toBe(EXIT.usage);
    const unknownId = await as('bob', [], 'read', 'ffffffff');
    expect([unknownId.code, unknownId.err]).toEqual([EXIT.failure, 'sealmail read: No mail with an id starting "ffffffff" among the latest 100 of each folder (give the whole id).']);
    expect((await as('alice', ['x'], 'send', '--subject', 'nobody')).code).toBe(EXIT.usage);
    const badLink = await as('alice', ['x'], 'send', '--to', 'carol@example.org', '--link', '2d');
    expect([badLink.code, badLink.err]).toEqual([EXIT.usage, 'sealmail send: --link takes how long the link works: 1d, 7d or 30d.']);
    expect((await as('alice', ['x'], 'send', '--to', 'carol@example.org', '--link', '1d', '--standard')).code).toBe(EXIT.usage);
    // A link to an outside address is sealed, stored and queued (.invalid never resolves: nothing leaves this machine).
    const linked = await as('alice', ['x'], 'send', '--to', 'carol@example.invalid', '--link', '7d', '--subject', 'x');
    expect([linked.code, linked.err]).toEqual([EXIT.ok, '']);
    expect(linked.out).toMatch(/^sent [0-9a-f-]{36} \(E2E Encrypted\) to nobody\nexpiring link \(7d\) queued for carol@example\.invalid$/);
    const refused = await as('alice', ['x'], 'send', '--to', 'carol@example.invalid', '--subject', 'x');
    expect(refused.err).toMatch(/\[NO_E2EE_ROUTE\]$/);
    const noFile = await as('alice', ['x'], 'send', '--to', BOB, '--subject', 'x', '--attach', join(s.dir, 'missing.pdf'));
    expect([noFile.code, noFile.err]).toEqual([EXIT.failure, `sealmail send: Cannot attach ${join(s.dir, 'missing.pdf')}: not a readable file.`]);
  });

  it('a tampered attachment fails to save and leaves no file behind', async () => {
    const id = (await as('bob', [], 'list', '--folder', 'inbox')).out.split('\n').find((l) => l.includes('Plans for Q3'))!.split(' ')[0]!;
    // Only the 3 MB attachment's parts (other blobs, such as a delivery report's few hundred bytes
    // of headers for the link that could not be sent, may be there by now).
    await s.tdb.prisma.$executeRaw`UPDATE blob_parts SET data = set_byte(data, 1000000, get_byte(data, 1000000) # 1) WHERE octet_length(data) > 1000000`;
    const dir = join(s.dir, 'tampered');
    const r = await as('bob', [], 'attachments', id, '--save', dir);
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toMatch(/could not be decrypted.*\[OPEN_FAILED\]/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('search finds mail by its words, forgets deleted mail, and the index on disk is sealed', async () => {
    const r = await as('bob', [], 'search', CANARY);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(r.out).toMatch(/^[0-9a-f]{8} {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}inbox {4}alice@example\.test\s+Plans for Q3$/);
    expect(r.err).toMatch(/indexed \d+ new mail/);
    expect((await as('bob', [], 'search', 'plans', 'q')).out).toMatch(/Plans for Q3/); // prefix on the last word
    expect((await as('bob', [], 'search', 'demo', 'adm')).out).toMatch(/From the admin/); // the sender's name
    expect((await as('bob', [], 'search', 'nothing-like-this')).out).toBe('(no matches)');
    const again = await as('bob', [], 'search', CANARY);
    expect(again.err).toBe(''); // nothing new to index
    const file = join(s.dir, 'bob', 'search-bob@example.test.bin');
    const index = await readFile(file);
    expect(index.length).toBeGreaterThan(100);
    expect(index.includes(Buffer.from(CANARY))).toBe(false);
    expect(index.includes(Buffer.from('Plans'))).toBe(false);

    // New mail is indexed on the next search; deleted mail drops out.
    expect((await as('alice', ['the zebra crossing is closed'], 'send', '--to', BOB, '--subject', 'Road works')).code).toBe(EXIT.ok);
    const found = await as('bob', [], 'search', 'zebra');
    expect(found.err).toBe('(indexed 1 new mail)');
    const id = found.out.split(' ')[0]!;
    const session = JSON.parse(await readFile(join(s.dir, 'bob', 'session.json'), 'utf8')) as { token: string };
    const api = new ApiClient({ baseUrl: s.url, fetch: httpsFetch(await readFile(s.caFile, 'utf8')), token: session.token });
    const entry = (await api.listMail({ folder: 'inbox' })).entries.find((e) => e.id.startsWith(id))!;
    // move and delete from the command line: archive, back, to Trash, then for good.
    expect((await as('bob', [], 'move', id, 'archive')).out).toBe(`moved ${id} to archive`);
    expect((await api.getMail(entry.id)).folder).toBe('archive');
    expect((await as('bob', [], 'move', id, 'drafts')).code).toBe(EXIT.usage);
    expect((await as('bob', [], 'move', id)).code).toBe(EXIT.usage);
    expect((await as('bob', [], 'delete', id)).out).toBe(`moved ${id} to trash`);
    expect((await as('bob', [], 'search', 'zebra')).out).toMatch(/ trash {4}alice@example\.test\s+Road works$/);
    expect((await as('bob', [], 'delete', id)).out).toBe(`deleted ${id} for good`);
    await expect(api.getMail(entry.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await as('bob', [], 'search', 'zebra')).out).toBe('(no matches)');

    // Another device's secret (or a damaged file) cannot open it: rebuilt, not misread.
    await writeFile(file, randomBytes(index.length));
    const rebuilt = await as('bob', [], 'search', CANARY);
    expect(rebuilt.err).toMatch(/could not be opened; building it again/);
    expect(rebuilt.out).toMatch(/Plans for Q3/);
  });
});
