/**
 * Domains not yet proven the organisation's (docs/admin.md, Domains): the ingress takes no mail
 * for them — refused at RCPT exactly like an unknown address — and takes it once the domain is
 * verified. Real nodemailer → real ingress over STARTTLS → real Postgres; DNS answers (SPF, DKIM,
 * DMARC of the sender) come from an empty table through the server's resolver module.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import type { DNSResolver } from 'mailauth';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, tableResolver, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';
import { entryCount } from './mailbox';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let carolId = '';
let domainId = '';

const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.example.org' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-domains-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const home = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  await giveKeys(tdb.prisma, (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice', domainId: home.id } })).id);
  // A domain the admin added but has not verified (a user on it only exists here because the test puts one there).
  const pending = await tdb.prisma.domain.create({ data: { accountId: home.accountId, name: 'pending.example', verifyToken: 'abc' } });
  domainId = pending.id;
  const carol = await tdb.prisma.user.create({ data: { accountId: home.accountId, domainId: pending.id, localPart: 'carol', displayName: 'Carol', passwordHash: 'x' } });
  carolId = carol.id;
  await giveKeys(tdb.prisma, carol.id);
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver: tableResolver({}) as DNSResolver });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('mail for an unverified domain', () => {
  it('is refused at RCPT with the unknown-address answer; other recipients of the message get it', async () => {
    const info = await transport().sendMail({ from: 'dave@outside.example', to: ['carol@pending.example', 'alice@example.test'], subject: 'Hi', text: 'x' });
    expect(info.accepted).toEqual(['alice@example.test']);
    expect(info.rejected).toEqual(['carol@pending.example']);
    expect((info as unknown as { rejectedErrors: { response: string }[] }).rejectedErrors[0]!.response).toMatch(/^550 .*No such user here/);
    expect(await entryCount(tdb.prisma, carolId)).toBe(0);
  });

  it('is taken once the domain is verified', async () => {
    await tdb.prisma.domain.update({ where: { id: domainId }, data: { verifiedAt: new Date() } });
    const info = await transport().sendMail({ from: 'dave@outside.example', to: 'carol@pending.example', subject: 'Hi again', text: 'x' });
    expect(info.accepted).toEqual(['carol@pending.example']);
    expect(await entryCount(tdb.prisma, carolId)).toBe(1);
  });
});
