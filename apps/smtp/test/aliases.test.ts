/**
 * Aliases at the ingress (docs/admin.md, Users): real nodemailer → real ingress over STARTTLS →
 * real Postgres. Mail to an alias is sealed into its user's mailbox; mail to the user's address
 * and an alias of it at once gives one copy; an alias of a suspended user is refused like the
 * user's own address; an address that is nobody's alias is still unknown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import type { PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';
import { entryCount, openNewest } from './mailbox';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bob: { id: string; puk: PerUserKey };

async function resolver(name: string, type: string): Promise<string[][]> {
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}
const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.example.org' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-alias-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const u = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  bob = { id: u.id, puk: await giveKeys(tdb.prisma, u.id) };
  await tdb.prisma.userAlias.create({ data: { userId: u.id, domainId: u.domainId, localPart: 'sales' } });
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('aliases', () => {
  it('mail to an alias reaches its user, sealed to their key; to both addresses, one copy', async () => {
    const before = await entryCount(tdb.prisma, bob.id);
    const info = await transport().sendMail({ from: 'dave@outside.example', to: 'Sales@Example.test', subject: 'Quote request', text: 'How much?' });
    expect(info.accepted).toHaveLength(1);
    expect(await entryCount(tdb.prisma, bob.id)).toBe(before + 1);
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).subject).toBe('Quote request');
    const both = await transport().sendMail({ from: 'dave@outside.example', to: ['sales@example.test', 'bob@example.test'], subject: 'Twice', text: 'x' });
    expect(both.accepted).toHaveLength(2);
    expect(await entryCount(tdb.prisma, bob.id)).toBe(before + 2);
  });

  it('an alias of a suspended user is refused like their address; an address that is nobody’s is unknown', async () => {
    await tdb.prisma.user.update({ where: { id: bob.id }, data: { status: 'suspended' } });
    try {
      await expect(transport().sendMail({ from: 'dave@outside.example', to: 'sales@example.test', subject: 'x', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
    } finally {
      await tdb.prisma.user.update({ where: { id: bob.id }, data: { status: 'active' } });
    }
    await expect(transport().sendMail({ from: 'dave@outside.example', to: 'marketing@example.test', subject: 'x', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
  });
});
