/**
 * The recipients' delivery facts read at RCPT (server.ts, delivery-facts.ts): with the user, the
 * RCPT statement reads their verdicts on the envelope sender, filters, sigchain head and
 * out-of-office flag; DATA uses them and runs no statement of its own when the From header names
 * no one else — and still asks again when it does, so a verdict on the From address counts. Real
 * nodemailer over STARTTLS on loopback, the real Postgres (its statements recorded by name on the
 * way); DNS answers "no such record" from this test (the outside world).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { pgPoolOf } from '@sealmail/db';
import { ingress, type Ingress } from './harness';

let h: Ingress;
let port = 0;
/** Names of the named statements run through the pool since the last reset. */
const statements: string[] = [];

beforeAll(async () => {
  h = await ingress('rcpt-facts');
  const pool = pgPoolOf(h.tdb.prisma)!;
  const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
  (pool as unknown as { query: (...a: unknown[]) => unknown }).query = (cfg: unknown, ...rest: unknown[]) => {
    const name = (cfg as { name?: string } | null)?.name;
    if (name) statements.push(name);
    return query(cfg, ...rest);
  };
  port = await h.listen({ maxMessageBytes: 35 * 1024 * 1024, groupCommit: false });
}, 60_000);

afterAll(() => h?.close());

const send = (envelopeFrom: string, from: string, subject: string) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: h.tls.cert, servername: 'localhost' } }).sendMail({ envelope: { from: envelopeFrom, to: ['bob@example.test'] }, from, to: 'bob@example.test', subject, text: 'hello', date: new Date(), messageId: `<${subject.replace(/\W/g, '')}@sender.example>` });
/** The folder of bob's newest entry. */
const newestFolder = async () => (await h.tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: h.bob.id }, orderBy: { receivedAt: 'desc' } })).folder;

describe('delivery facts read at RCPT', () => {
  it('From is the envelope sender: DATA runs no facts statement, and the verdict read at RCPT files it', async () => {
    await h.tdb.prisma.senderVerdict.create({ data: { userId: h.bob.id, address: 'carol@sender.example', verdict: 'spam' } });
    statements.length = 0;
    await send('carol@sender.example', 'Carol <Carol@Sender.example>', 'same sender');
    expect(statements).toContain('sealmail_rcpt_lookup_facts');
    expect(statements).not.toContain('sealmail_recipient_facts');
    expect(await newestFolder()).toBe('spam');
  });

  it('From names someone else: DATA reads the facts again for both, so a verdict on the From address counts', async () => {
    statements.length = 0;
    await send('bounces@list.example', 'carol@sender.example', 'other sender');
    expect(statements).toContain('sealmail_recipient_facts');
    expect(await newestFolder()).toBe('spam');
    await h.tdb.prisma.senderVerdict.deleteMany({ where: { userId: h.bob.id } });
    await send('bounces@list.example', 'carol@sender.example', 'other sender again');
    expect(await newestFolder()).toBe('inbox');
  });
});
