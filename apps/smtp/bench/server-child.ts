/**
 * The SMTP server under measurement, in its own process (ingest.bench.ts forks it), so that its
 * CPU and its RSS are its own: `BENCH_MODE=ours` is the Sealmail ingress (database, sealing, DNS
 * answered from a local table), `BENCH_MODE=bare` a bare smtp-server that only reads DATA.
 * Takes its settings as the first IPC message; tells its parent `{ port }` once listening; answers `{ rss }` to `'rss'` (after a GC), `{ cpu }` (ms used so far) to `'cpu'`.
 */
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { createDb, pgPoolOf } from '@sealmail/db';
import { GroupCommit, loadOrCreateServerMailKey, SealPool, SecretBox } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { buildSmtpServer, ByteBudget } from '../src/server';

/** What the parent says to run (the bench reads no environment). */
const cfg = await new Promise<{ mode: 'ours' | 'bare'; db: string; cert: string; key: string; data: string; budget?: number; verbose: boolean; sealWorkers?: number; sealWorkerUrl?: string }>((r) => process.once('message', r as (m: unknown) => void));
const tls = { cert: readFileSync(cfg.cert, 'utf8'), key: readFileSync(cfg.key, 'utf8') };
const maxMessageBytes = 35 * 1024 * 1024;
/** No network: every SPF/DKIM/DMARC question is answered "no such record" from this table. */
const noRecords = async () => Promise.reject(Object.assign(new Error('none'), { code: 'ENOTFOUND' }));

let server: SMTPServer;
let close = async () => undefined as void;
if (cfg.mode === 'ours') {
  const db = createDb(cfg.db, { maxConnections: 20 });
  // The process's budget of message bytes in memory: the configuration's default unless told.
  const budget = new ByteBudget(cfg.budget ?? 256 * 1024 * 1024);
  // As main.ts runs it: with the server's mail key (lists' outside members, keyless mailboxes)
  // and its SecretBox (out-of-office replies).
  const serverKey = await loadOrCreateServerMailKey(cfg.data);
  const groupCommit = new GroupCommit(db, pgPoolOf(db)!);
  // --seal-workers=N: sealing in N worker threads (seal-pool.ts), as SEALMAIL_SMTP_SEAL_WORKERS runs it.
  const sealPool = cfg.sealWorkers ? new SealPool(cfg.sealWorkers, cfg.sealWorkerUrl ? new URL(cfg.sealWorkerUrl) : undefined) : undefined;
  server = buildSmtpServer({ db, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes, secure: false, resolver: noRecords, budget, serverPublicKey: serverKey.publicKey, secrets: new SecretBox(serverKey), groupCommit, ...(sealPool ? { sealPool } : {}) });
  close = async () => {
    // --verbose: how many transactions stored the messages (group commit).
    if (cfg.verbose) console.error('group commit', groupCommit.stats, 'seal pool', sealPool?.stats);
    await sealPool?.close();
    await db.$disconnect();
  };
} else {
  server = new SMTPServer({ key: tls.key, cert: tls.cert, authOptional: true, disabledCommands: ['AUTH'], logger: false, size: maxMessageBytes, onData: (s, _session, cb) => s.on('data', () => {}).on('end', () => cb()) });
}
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send!({ cpu: (u.user + u.system) / 1000 });
  } else if (m === 'rss') {
    (globalThis as { gc?: () => void }).gc?.();
    setTimeout(() => (cfg.verbose && console.error(process.memoryUsage()), process.send!({ rss: process.memoryUsage().rss })), 200);
  } else if (m === 'stop') server.close(() => void close().finally(() => process.exit(0)));
});
if (cfg.verbose) {
  const max = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  setInterval(() => {
    const m = process.memoryUsage();
    for (const k of Object.keys(max) as (keyof typeof max)[]) max[k] = Math.max(max[k], Math.round(m[k] / 1048576));
  }, 10).unref();
  process.on('exit', () => console.error('max MB', max));
}
