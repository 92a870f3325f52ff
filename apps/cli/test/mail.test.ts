/**
 * Mail from the command line against a real API over TLS: alice sends bob a mail with a 3 MB
 * attachment and a canary; bob lists, reads (E2E Encrypted, signature valid) and saves the
 * attachment (same SHA-256); a tampered attachment leaves no file; bob replies; search finds mail
 * by a word of its body, and the index file on disk holds no plaintext.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const CANARY = `canary-cli-${randomBytes(5).toString('hex')}`;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const as = (who: 'alice' | 'bob', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
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

    const reply = await as('bob', ['Thanks!'], 'send', '--to', ALICE, '--subject', 'Re: Plans for Q3');
    expect(reply.code).toBe(EXIT.ok);
    expect((await as('alice', [], 'list')).out).toContain('Re: Plans for Q3');
    expect((await as('alice', [], 'list', '--folder', 'sent')).out).toMatch(/to bob@example\.test.*Plans for Q3/);
  });

  it('refusals are one clear line and a non-zero exit', async () => {
    const unknown = await as('alice', ['x'], 'send', '--to', 'nobody@example.test', '--subject', 'x');
    expect(unknown.code).toBe(EXIT.failure);
    expect(unknown.err).toMatch(/^sealmail: nobody@example\.test cannot receive end-to-end-encrypted mail from you.*\[NO_E2EE_ROUTE\]$/);
    const noId = await as('bob', [], 'read');
    expect(noId.code).toBe(EXIT.usage);
    const badFolder = await as('bob', [], 'list', '--folder', 'nope');
    expect(badFolder.code).toBe(EXIT.failure);
  });

  it('a tampered attachment fails to save and leaves no file behind', async () => {
    const id = (await as('bob', [], 'list', '--folder', 'inbox')).out.split('\n').find((l) => l.includes('Plans for Q3'))!.split(' ')[0]!;
    await s.tdb.prisma.$executeRaw`UPDATE blob_parts SET data = set_byte(data, 1000000, get_byte(data, 1000000) # 1)`;
    const dir = join(s.dir, 'tampered');
    const r = await as('bob', [], 'attachments', id, '--save', dir);
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toMatch(/could not be decrypted.*\[OPEN_FAILED\]/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('search finds mail by its words, and the index on disk is sealed', async () => {
    const r = await as('bob', [], 'search', CANARY);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(r.out).toMatch(/Plans for Q3/);
    expect(r.err).toMatch(/indexed \d+ new mail/);
    expect((await as('bob', [], 'search', 'plans', 'q')).out).toMatch(/Plans for Q3/); // prefix on the last word
    expect((await as('bob', [], 'search', 'nothing-like-this')).out).toBe('(no matches)');
    const again = await as('bob', [], 'search', CANARY);
    expect(again.err).toBe(''); // nothing new to index
    const index = await readFile(join(s.dir, 'bob', 'search-index.bin'));
    expect(index.length).toBeGreaterThan(100);
    expect(index.includes(Buffer.from(CANARY))).toBe(false);
    expect(index.includes(Buffer.from('Plans'))).toBe(false);
  });
});
