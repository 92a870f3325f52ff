/**
 * Labels and sender verdicts from the command line against a real API over TLS (docs/mail.md
 * "Organising mail"): bob makes a label (its name sealed on his device: not in the database),
 * renames and deletes it; reports alice's mail as spam, sees the verdict, marks it not spam,
 * sees it allowed, and removes it; forwards a mail with an attachment to alice, quoted and as an
 * attached .eml, whose attachment keeps its bytes.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAttachedMessage } from '@sealmail/client/attached';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CANARY = 'canary-cli-label-8a2f';
const as = (who: 'alice' | 'bob', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 120_000);
afterAll(() => s?.stop());

describe('labels and senders on the command line', () => {
  it('create, rename and delete a label; its name never in the database', async () => {
    expect((await as('bob', [], 'labels')).out).toBe('no labels yet (sealmail labels create NAME)');
    expect((await as('bob', [], 'labels', 'create', CANARY)).out).toMatch(new RegExp(`^created label [0-9a-f]{8} ${CANARY}$`));
    expect((await as('bob', [], 'labels', 'rename', CANARY, 'Projects')).code).toBe(EXIT.ok);
    expect((await as('bob', [], 'labels')).out).toMatch(/^[0-9a-f]{8} {2}Projects$/);
    expect((await as('bob', [], 'labels', 'rename', 'nothing', 'X')).code).toBe(EXIT.failure);
    expect((await as('bob', [], 'labels', 'rename')).code).toBe(EXIT.usage);
    expect((await as('bob', [], 'labels', 'delete', 'Projects')).out).toBe('deleted label Projects; it is off every mail');
    expect((await as('bob', [], 'labels')).out).toBe('no labels yet (sealmail labels create NAME)');
    const hits = await s.tdb.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM labels WHERE position(convert_to($1, 'UTF8') in name) > 0`, CANARY);
    expect(Number(hits[0]!.n)).toBe(0);
  }, 180_000);

  it('spam and not-spam record the sender; senders lists it; remove forgets it', async () => {
    expect((await as('alice', ['buy now'], 'send', '--to', BOB, '--subject', 'Offer')).code).toBe(EXIT.ok);
    const id = (await as('bob', [], 'list')).out.split(' ')[0]!;
    expect((await as('bob', [], 'senders')).out).toBe('no reported or allowed senders');
    expect((await as('bob', [], 'spam', id)).out).toBe(`moved ${id} to spam; later mail from ${ALICE} goes to spam`);
    expect((await as('bob', [], 'senders')).out).toMatch(new RegExp(`^spam {3}${ALICE}  \\(since \\d{4}-\\d\\d-\\d\\d\\)$`));
    expect((await as('bob', [], 'not-spam', id)).out).toBe(`moved ${id} to inbox; later mail from ${ALICE} goes to the inbox`);
    expect((await as('bob', [], 'senders')).out).toMatch(new RegExp(`^allow  ${ALICE}`));
    expect((await as('bob', [], 'senders', 'remove', ALICE)).out).toBe(`removed ${ALICE}: its mail is checked like anyone's again`);
    expect((await as('bob', [], 'senders')).out).toBe('no reported or allowed senders');
    expect((await as('bob', [], 'senders', 'remove', ALICE)).code).toBe(EXIT.failure);
  }, 180_000);

  it('forward quotes the original and attaches its files again, or --attached sends it whole as message/rfc822', async () => {
    const bytes = randomBytes(50_000);
    const path = join(s.dir, 'figures.bin');
    await writeFile(path, bytes);
    expect((await as('bob', ['the figures'], 'send', '--to', ALICE, '--subject', 'Figures', '--attach', path)).code).toBe(EXIT.ok);
    const id = (await as('alice', [], 'list')).out.split(' ')[0]!;

    const quoted = await as('alice', ['See below.'], 'forward', id, '--to', BOB);
    expect(quoted.code, quoted.err).toBe(EXIT.ok);
    const q = (await as('bob', [], 'list')).out.split(' ')[0]!;
    const read = await as('bob', [], 'read', q);
    expect(read.out).toContain('Subject:  Fwd: Figures');
    expect(read.out).toContain('---------- Forwarded message ----------');
    expect(read.out).toContain('the figures');
    const dir = join(s.dir, 'fwd-saved');
    expect((await as('bob', [], 'attachments', q, '--save', dir)).code).toBe(EXIT.ok);
    expect(await readFile(join(dir, 'figures.bin'))).toEqual(bytes);

    const attached = await as('alice', ['Attached.'], 'forward', id, '--to', BOB, '--attached');
    expect(attached.code, attached.err).toBe(EXIT.ok);
    const a = (await as('bob', [], 'list')).out.split(' ')[0]!;
    expect((await as('bob', [], 'attachments', a)).out).toMatch(/^\[1\] Figures\.eml {2}message\/rfc822 /);
    expect((await as('bob', [], 'attachments', a, '--save', dir)).code).toBe(EXIT.ok);
    const inner = await parseAttachedMessage(await readFile(join(dir, 'Figures.eml')));
    expect(inner).toMatchObject({ subject: 'Figures', text: expect.stringContaining('the figures') });
    expect(inner.attachments.map((x) => [x.filename, Buffer.from(x.bytes).equals(bytes)])).toEqual([['figures.bin', true]]);
    expect((await as('alice', [], 'forward', id)).code).toBe(EXIT.usage);
  }, 180_000);
});
