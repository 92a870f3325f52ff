/**
 * Conversations with the outside world thread (docs/mail.md "Threads"): a message from outside
 * keeps only a keyed hash of its own Message-ID, and a later message answering it — by
 * In-Reply-To, or only by References — joins the recipient's thread; one answering nothing known
 * starts its own. The Message-ID itself is never stored in the clear. DNS answers come from an
 * empty table (outside this machine).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeredIds, ephemeralServerMailKey, SecretBox, storeMessage } from '@sealmail/mailstore';
import { Dialog } from './dialog';
import { ingress, type Ingress } from './harness';

let h: Ingress;
let port = 0;
const tag = randomBytes(6).toString('hex');
const id = (n: string) => `${n}-${tag}@mail.far.example`;

async function send(subject: string, headers: string) {
  const d = await Dialog.open(port);
  try {
    await d.reply();
    await d.cmd('EHLO mta.far.example');
    await d.cmd('MAIL FROM:<carol@far.example>');
    await d.cmd('RCPT TO:<bob@example.test>');
    await d.cmd('DATA');
    d.write(`From: Carol <carol@far.example>\r\nTo: bob@example.test\r\nSubject: ${subject}\r\n${headers}\r\nText of ${subject}.\r\n`);
    expect((await d.cmd('.')).code).toBe(250);
  } finally {
    d.close();
  }
}

/** Bob's thread ids, oldest entry first. */
const threads = async () => (await h.tdb.prisma.mailboxEntry.findMany({ where: { userId: h.bob.id }, orderBy: { receivedAt: 'asc' }, select: { threadId: true } })).map((e) => e.threadId);

beforeAll(async () => {
  h = await ingress('threads');
  port = await h.listen({ secrets: new SecretBox(ephemeralServerMailKey()) });
}, 60_000);

afterAll(() => h?.close());

describe('threads with the outside world', () => {
  it('a reply from outside to a mail from outside joins its thread, by In-Reply-To or by References alone', async () => {
    await send('Plans', `Message-ID: <${id('a')}>\r\n`);
    await send('Re: Plans', `Message-ID: <${id('b')}>\r\nIn-Reply-To: <${id('a')}>\r\nReferences: <${id('a')}>\r\n`);
    // A client that writes only References (the nearest known id counts).
    await send('Re: Re: Plans', `Message-ID: <${id('c')}>\r\nReferences: <${id('a')}> <unknown-${tag}@elsewhere.example>\r\n`);
    await send('Something else', `Message-ID: <${id('d')}>\r\nIn-Reply-To: <never-${tag}@far.example>\r\n`);
    const t = await threads();
    expect(t).toHaveLength(4);
    expect(t[1]).toBe(t[0]);
    expect(t[2]).toBe(t[0]);
    expect(t[3]).not.toBe(t[0]);
    // Only keyed hashes: no Message-ID of these mails is in the clear anywhere in their rows.
    const rows = await h.tdb.prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT m::text AS row FROM messages m WHERE m.sender_address = 'carol@far.example'`);
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r.row).not.toContain(tag);
    const refs = await h.tdb.prisma.message.findMany({ where: { senderAddress: 'carol@far.example' }, select: { originRef: true } });
    expect(new Set(refs.map((r) => Buffer.from(r.originRef!).toString('hex'))).size).toBe(4);
  });

  it('from outside, a conversation of ours is joined only if it went outside: one that never left cannot be answered into', async () => {
    const alice = await h.tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } });
    /** A mail Alice sent (sealed bytes stand-ins: threading reads only the rows), held by Bob. */
    const ours = async (mailId: string, to: string[], cc: string[] = []) => {
      const stored = await storeMessage(h.tdb.prisma, {
        mailId,
        senderUserId: alice.id,
        senderAddress: 'alice@example.test',
        to,
        cc,
        protection: 'e2ee',
        envelope: randomBytes(64),
        manifest: randomBytes(64),
        body: randomBytes(64),
        attachments: [],
        attachmentSizes: [],
        blobBytes: 0n,
        parentId: null,
        sentAt: new Date(),
        holders: [{ userId: h.bob.id, address: 'bob@example.test', kind: 'to', box: randomBytes(32), folder: 'inbox' }],
      });
      return stored.entries[0]!.threadId;
    };
    const inside = await ours(`inside-${tag}@example.test`, ['bob@example.test']);
    const out = await ours(`out-${tag}@example.test`, ['bob@example.test'], ['carol@far.example']);
    const newest = async () => (await h.tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: h.bob.id }, orderBy: { receivedAt: 'desc' }, select: { threadId: true } })).threadId;

    // Someone outside who learned the Message-ID of a mail that never left: a conversation of its own.
    await send('Re: inside', `Message-ID: <${id('e')}>\r\nIn-Reply-To: <inside-${tag}@example.test>\r\nReferences: <inside-${tag}@example.test>\r\n`);
    expect(await newest()).not.toBe(inside);
    // Carol was on the mail that went out: her reply joins it.
    await send('Re: out', `Message-ID: <${id('f')}>\r\nIn-Reply-To: <out-${tag}@example.test>\r\nReferences: <out-${tag}@example.test>\r\n`);
    expect(await newest()).toBe(out);
    // An id of a mail that never left is passed over for the next one the message answers.
    await send('Re: both', `Message-ID: <${id('g')}>\r\nIn-Reply-To: <inside-${tag}@example.test>\r\nReferences: <out-${tag}@example.test> <inside-${tag}@example.test>\r\n`);
    expect(await newest()).toBe(out);
  });

  it('reads the ids a message answers nearest first, without duplicates', () => {
    expect(answeredIds({ inReplyTo: '<b@x>', references: '<a@x> <b@x>' })).toEqual(['b@x', 'a@x']);
    expect(answeredIds({ references: ['<a@x>', '<c@x>'] })).toEqual(['c@x', 'a@x']);
    expect(answeredIds({})).toEqual([]);
  });
});
