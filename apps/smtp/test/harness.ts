/**
 * Test helper: a demo organisation on its own database, TLS material in a temporary folder, Bob
 * given keys, and ingress listeners on loopback made with `listen(options)` — closed, dropped and
 * removed by `close()`. DNS answers "no such record" unless a test passes its own resolver (DNS
 * is outside this machine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SMTPServer } from 'smtp-server';
import type { PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer, type SmtpOptions } from '../src/server';
import { giveKeys } from './keys';

export const noDns = async (name: string, type: string): Promise<string[][]> => Promise.reject(Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' }));

export interface Ingress {
  tdb: TestDatabase;
  tls: TlsMaterial;
  bob: { id: string; puk: PerUserKey };
  /** Starts a listener (plain with STARTTLS, 1 MiB messages, no DNS unless given); answers its port. */
  listen(options?: Partial<SmtpOptions>): Promise<number>;
  close(): Promise<void>;
}

export async function ingress(name: string): Promise<Ingress> {
  const dir = await mkdtemp(join(tmpdir(), `sealmail-${name}-`));
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  const tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  const bob = { id: bobId, puk: await giveKeys(tdb.prisma, bobId) };
  const servers: SMTPServer[] = [];
  return {
    tdb,
    tls,
    bob,
    async listen(options = {}) {
      const server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver: noDns, ...options });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.server.address() as { port: number }).port;
    },
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await tdb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
