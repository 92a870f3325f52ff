/**
 * eDiscovery from the command line against a real API process over TLS: the admin turns escrow on
 * (their CLI device holds the key), alice adds it with `sealmail escrow accept`, bob mails her two
 * E2EE messages, and `sealmail discovery export` writes an mbox holding exactly the message that
 * matches the terms, decrypted, and a manifest whose SHA-256s match the files; alice's
 * `sealmail escrow` lists the opening with its case reference. Usage errors name what is missing.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { EscrowAdmin, Identity, parseMime } from '@sealmail/client/identity';
import { httpsFetch } from '@sealmail/client/node';
import { EXIT } from '../src/cli';
import { fileKeyStore } from '../src/keystore';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const as = (who: 'alice' | 'bob' | 'admin', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('admin', [s.passwords[ADMIN]!], 'login', ADMIN)).code).toBe(EXIT.ok);
  const { token } = JSON.parse(await readFile(join(s.dir, 'admin', 'session.json'), 'utf8')) as { token: string };
  const api = new ApiClient({ baseUrl: s.url, fetch: httpsFetch(await readFile(s.caFile, 'utf8')), token });
  await new EscrowAdmin(api, new Identity(api, fileKeyStore(join(s.dir, 'admin'), {}))).enable(ADMIN);
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('alice', [], 'escrow', 'accept')).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 90_000);
afterAll(() => s?.stop());

describe('sealmail discovery export', () => {
  it('writes an mbox with exactly the matching messages and a manifest with their hashes; the user sees the opening and its case', { timeout: 90_000 }, async () => {
    expect((await as('bob', ['The contract draft is attached in spirit.'], 'send', '--to', ALICE, '--subject', 'Contract Draft v2')).code).toBe(EXIT.ok);
    expect((await as('bob', ['Pizza at noon?'], 'send', '--to', ALICE, '--subject', 'Lunch')).code).toBe(EXIT.ok);

    const usage = await as('admin', [], 'discovery', 'export', '--user', ALICE, '--from', '2000-01-01', '--to', '2100-01-01', '--out', join(s.dir, 'x'));
    expect(usage.code).toBe(EXIT.usage);
    expect(usage.err).toContain('--case');
    const notEscrow = await as('bob', [], 'discovery', 'export', '--user', ALICE, '--from', '2000-01-01', '--to', '2100-01-01', '--case', 'C-1', '--out', join(s.dir, 'y'));
    expect(notEscrow.code).toBe(EXIT.failure);
    expect(notEscrow.err).toContain('[FORBIDDEN]');

    const out = join(s.dir, 'case-7');
    const run = await as('admin', [], 'discovery', 'export', '--user', ALICE, '--from', '2000-01-01', '--to', '2100-01-01', '--terms', 'contract,merger', '--case', 'CASE-7 Contract review', '--out', out);
    expect(run.code, run.err).toBe(EXIT.ok);
    expect(run.out).toContain('exported 1 of 2 message(s)');
    const mbox = await readFile(join(out, 'messages.mbox'));
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { caseRef: string; messages: { subject: string; sha256: string; messageId: string }[]; mbox: { sha256: string; bytes: number } };
    expect(manifest).toMatchObject({ caseRef: 'CASE-7 Contract review', mbox: { sha256: sha(mbox), bytes: mbox.length } });
    expect(manifest.messages.map((m) => m.subject)).toEqual(['Contract Draft v2']);
    const messages = mbox.toString('latin1').split(/^From [^\n]*\n/m).slice(1);
    expect(messages).toHaveLength(1);
    expect(sha(Buffer.from(messages[0]!.replace(/\n$/, ''), 'latin1'))).toBe(manifest.messages[0]!.sha256);
    const parsed = await parseMime(new Uint8Array(Buffer.from(messages[0]!, 'latin1')));
    expect(parsed.subject).toBe('Contract Draft v2');
    expect(parsed.text).toContain('The contract draft is attached in spirit.');
    expect(parsed.messageId).toBe(manifest.messages[0]!.messageId);
    // An earlier export is never replaced.
    expect((await as('admin', [], 'discovery', 'export', '--user', ALICE, '--from', '2000-01-01', '--to', '2100-01-01', '--case', 'CASE-7', '--out', out)).code).not.toBe(EXIT.ok);

    const mine = await as('alice', [], 'escrow');
    expect(mine.out).toMatch(/discovery\s+admin@example\.test {2}case "CASE-7 Contract review"/);
  });
});
