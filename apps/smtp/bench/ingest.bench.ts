/**
 * SMTP ingest through the whole pipeline (TLS, RCPT check, SPF/DKIM/DMARC, parse, seal to the
 * recipient's key, store, then 250) for 10 KiB messages over 20 concurrent sessions, beside a bare
 * smtp-server that only reads DATA, in the same run (shared machines: compare the ratio).
 * DNS questions are answered "no such record" from memory, so no network time is measured.
 *
 *   pnpm --filter @sealmail/smtp bench
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createLink, generateDeviceKeys, generatePerUserKey, LinkType, publicKeysOf } from '@sealmail/crypto';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { createLogger, loadOrCreateTls } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';

const MESSAGES = 600;
const SESSIONS = 20;
const body = 'A line of an ordinary message body, repeated to make ten kibibytes.\r\n'.repeat(150);

const dir = await mkdtemp(join(tmpdir(), 'sealmail-ingest-bench-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000), postgresFlags: ['-c', 'fsync=off'] });
try {
  await applyMigrations(pg.connectionString);
  const db = createDb(pg.connectionString, { maxConnections: 20 });
  await seedDemo(db, { domain: 'example.test' });
  const bob = await db.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  const device = generateDeviceKeys();
  const puk = generatePerUserKey(1);
  const link = createLink({ userId: bob.id, seqno: 0, prev: new Uint8Array(32), time: Date.now(), signer: device, body: { type: LinkType.Root, device: { name: 'Bench', kind: 'cli', keys: publicKeysOf(device) }, puk: { generation: 1, keys: publicKeysOf(puk) } }, newKeys: [puk] });
  await db.sigchainLink.create({ data: { userId: bob.id, seqno: 0, type: LinkType.Root, bytes: new Uint8Array(link.bytes), hash: new Uint8Array(link.hash) } });
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });

  const ours = buildSmtpServer({ db, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver: async () => Promise.reject(Object.assign(new Error('none'), { code: 'ENOTFOUND' })) });
  const sink = new SMTPServer({ key: tls.key, cert: tls.cert, authOptional: true, disabledCommands: ['AUTH'], logger: false, onData: (s, _session, cb) => s.on('data', () => {}).on('end', () => cb()) });
  const listen = (s: SMTPServer) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.server.address() as { port: number }).port)));
  const [oursPort, sinkPort] = [await listen(ours), await listen(sink)];

  async function run(port: number): Promise<number> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: SESSIONS, maxMessages: Infinity });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: MESSAGES }, (_, i) => transport.sendMail({ from: 'load@sender.example', to: 'bob@example.test', subject: `bench ${i}`, text: body })));
    const secs = (performance.now() - t0) / 1000;
    transport.close();
    return MESSAGES / secs;
  }
  await run(sinkPort); // warm-up
  const sinkRate = await run(sinkPort);
  const oursRate = await run(oursPort);
  console.log(`\nSMTP ingest, ${MESSAGES} messages of 10 KiB over ${SESSIONS} concurrent STARTTLS sessions, Node ${process.version}\n`);
  console.log('bare smtp-server reading DATA (reference)'.padEnd(60) + `${sinkRate.toFixed(0).padStart(7)} msg/s`);
  console.log('Sealmail ingress: authenticate, parse, seal, store, then 250'.padEnd(60) + `${oursRate.toFixed(0).padStart(7)} msg/s   ${((oursRate / sinkRate) * 100).toFixed(0)}% of the reference`);
  await new Promise<void>((r) => ours.close(() => r()));
  await new Promise<void>((r) => sink.close(() => r()));
  await db.$disconnect();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
