/**
 * One parse of each message (docs/performance.md "Speed, third round"): the ingress parses a
 * message once with `parseStreamed`; the spam signals come from that parse (`signalsOf`) and
 * deliverLocal seals from it instead of parsing the raw bytes again. The scorer's verdicts
 * end to end (DKIM, SPF, DMARC, no Date, shouting subjects, link mismatches) are in spam.test.ts;
 * this file checks the signals on messages where each matters, and that deliverLocal really takes
 * the parse it is given. The real Postgres; no stand-ins.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { deliverLocal, parseStreamed, postgresBlobStore } from '@sealmail/mailstore';
import { scoreMessage, signalsOf } from '../src/spam';
import { giveKeys } from './keys';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));

describe('spam signals from the one parse', () => {
  it('a plain message: Date, Message-ID, From address and domain in lower case, subject decoded', async () => {
    const raw = crlf(['From: "Carol" <Carol@Sender.EXAMPLE>', 'To: bob@example.test', 'Subject: =?UTF-8?B?R3LDvMOfZQ==?=', 'Date: Sun, 29 Nov 2026 10:00:00 +0000', 'Message-ID: <a@sender.example>', '', 'hello', '']);
    expect(signalsOf(await parseStreamed(raw))).toEqual({ hasDate: true, hasMessageId: true, fromAddress: 'carol@sender.example', fromDomain: 'sender.example', subject: 'Grüße', html: '', listIds: [] });
  });

  it('no Date, no Message-ID, no From: each signal says so', async () => {
    const raw = crlf(['To: bob@example.test', 'Subject: x', '', 'body', '']);
    expect(signalsOf(await parseStreamed(raw))).toMatchObject({ hasDate: false, hasMessageId: false, fromAddress: '', fromDomain: '', subject: 'x' });
  });

  it('every List-Id line counts (list loop protection), and the HTML part is found beside an attachment', async () => {
    const raw = crlf([
      'From: a@shady.example',
      'To: bob@example.test',
      'List-Id: Team <Team.Example.Test>',
      'List-Id: <other.list.example>',
      'Subject: YOU HAVE WON A PRIZE TODAY',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p><a href="https://login.shady.example/x">https://www.bank.example/account</a></p>',
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename=a.bin',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.alloc(3000, 7).toString('base64'),
      '--b--',
      '',
    ]);
    const parsed = await parseStreamed(raw);
    const signals = signalsOf(parsed);
    expect(signals.listIds).toEqual(['team.example.test', 'other.list.example']);
    expect(signals.html).toContain('https://login.shady.example/x');
    expect(parsed.attachments).toEqual([{ filename: 'a.bin', contentType: 'application/octet-stream', size: 3000 }]);
    // What the scorer makes of it: the shouting subject and the link showing another site.
    const none = { status: { result: 'none' } };
    const verdict = scoreMessage({ spf: none, dkim: { results: [] }, dmarc: false, arc: none } as never, signals, 'a@shady.example', 5);
    expect(verdict.reasons).toEqual(expect.arrayContaining(['caps-subject', 'link-mismatch', 'dkim-none', 'no-date', 'no-message-id']));
  });

  it('a group From has no single address: no From domain (as before)', async () => {
    const raw = crlf(['From: Team:;', 'To: bob@example.test', 'Subject: s', '', 'x', '']);
    expect(signalsOf(await parseStreamed(raw))).toMatchObject({ fromAddress: '', fromDomain: '' });
  });
});

describe('deliverLocal with the parse given', () => {
  let tdb: TestDatabase;
  let bobId: string;
  let bobPuk: PerUserKey;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    await seedDemo(tdb.prisma, { domain: 'example.test' });
    bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
    bobPuk = await giveKeys(tdb.prisma, bobId);
  }, 60_000);
  afterAll(async () => {
    await tdb?.drop();
  });

  it('seals what the given parse says, not a second parse of the raw bytes', async () => {
    const raw = crlf(['From: carol@sender.example', 'To: bob@example.test', 'Subject: in the raw bytes', 'Message-ID: <raw@sender.example>', '', 'raw body', '']);
    const given = await parseStreamed(crlf(['From: carol@sender.example', 'To: bob@example.test', 'Subject: from the given parse', 'Message-ID: <given@sender.example>', '', 'given body', '']));
    const stored = await deliverLocal(
      { db: tdb.prisma, blobs: postgresBlobStore(tdb.prisma), hostname: 'mx.example.test', now: () => new Date(), logger: { info: () => undefined, warn: () => undefined } },
      raw,
      { mailFrom: 'carol@sender.example', recipients: [{ address: 'bob@example.test', userId: bobId }], parsed: given },
    );
    const entry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, messageId: stored.messageId }, include: { message: true } });
    const m = entry.message;
    const opened = await openMail({ envelope: m.envelope, record: entry.box, manifest: m.manifest, pieces: [m.body], userId: bobId, puk: bobPuk });
    const mime = await simpleParser(Buffer.from(opened.pieces[0]!));
    expect(mime.subject).toBe('from the given parse');
    expect(mime.text?.trim()).toBe('given body');
  }, 60_000);
});
