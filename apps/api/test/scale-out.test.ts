/**
 * Several processes on one Postgres (docs/operations.md "Scaling out"): two API processes and
 * two SMTP processes, each a real child process running the compiled bundle (dist/, built here
 * by scripts/build-services.mjs), share one database and one data folder (the server mail key).
 *
 * - Inbound: mail goes to both SMTP processes over several connections each; one SMTP process
 *   is killed with SIGKILL mid-stream. Every message that got a 250 is stored exactly once.
 * - Outbound: mail is sent through both APIs to outside recipients; their relays share the
 *   queue. One API process is killed with SIGKILL while it is delivering a message (the stand-in
 *   MX holds its reply to that message, so the kill lands mid-delivery). Its lease runs out
 *   (3 s here) and the other process delivers the message: every queued mail reaches the MX
 *   exactly once. The MX is a real smtp-server on loopback standing in for the outside world
 *   (MX answers come from a DNS table: DNS is outside this machine).
 * - Events: event streams (server-sent events) open on both APIs hear of the new mail stored by
 *   either SMTP process (Postgres NOTIFY); a restarted API process's stream hears of it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { httpsFetch } from '@sealmail/client/node';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { childEnvironment, freePort, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { httpsGet, smtpGreeting } from '@sealmail/server/testing';
import { until } from './helpers';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const LEASE_SECONDS = 3;

let dir: string;
let tls: TlsMaterial;
let tdb: TestDatabase;
let passwords: Record<string, string>;
const procs = new Map<string, { proc: ChildProcess; log: string[] }>();
const ports = { apiA: 0, apiB: 0, smtp1: 0, smtp2: 0 };

/** The stand-in remote MX: counts what it accepted, by subject, and who (EHLO name) sent it. */
const accepted: { subject: string; by: string }[] = [];
/** While set, the MX holds its reply to the next message from this EHLO name (a delivery in flight). */
let trap: { helo: string; caught: (subject: string) => void } | null = null;
let releaseTrap: (() => void) | null = null;
/**
 * Senders (by HELO) being killed: what else they deliver is held unanswered, so a message whose
 * data ends between the trap and the process's death is not answered 250 to a dying sender (which
 * could not record it and would leave it to the other process: a second copy at the MX).
 */
const silenced = new Set<string>();
const heldAnswers: (() => void)[] = [];
let mx: SMTPServer;
let mxPort = 0;

function startMx(): Promise<void> {
  const closed = new Set<string>();
  mx = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onClose(session) {
      closed.add(session.id);
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString('utf8'))?.[1]?.trim() ?? '';
        const by = session.hostNameAppearsAs;
        const answer = () => {
          // A receiver takes responsibility for a message when it answers 250 (RFC 5321 §4.1.1.4);
          // a sender gone before that answer did not hand it over, so it is not counted.
          if (closed.has(session.id)) return cb(new Error('connection closed before the reply'));
          accepted.push({ subject, by });
          cb();
        };
        if (trap && by === trap.helo) {
          const t = trap;
          trap = null;
          releaseTrap = answer;
          t.caught(subject);
        } else if (silenced.has(by)) heldAnswers.push(answer);
        else answer();
      });
    },
  });
  return new Promise<void>((r) =>
    mx.listen(0, '127.0.0.1', () => {
      mxPort = (mx.server.address() as { port: number }).port;
      r();
    }),
  );
}

function commonEnv(dnsFile: string): Record<string, string> {
  return {
    DATABASE_URL: tdb.connectionString,
    SEALMAIL_DATA_DIR: dir,
    SEALMAIL_TLS_CERT: join(dir, 'cert.pem'),
    SEALMAIL_TLS_KEY: join(dir, 'key.pem'),
    SEALMAIL_DNS_TABLE: dnsFile,
    SEALMAIL_RELAY_PORT: String(mxPort),
    SEALMAIL_RELAY_ALLOW_PRIVATE: 'true',
    SEALMAIL_OUTBOUND_LEASE_SECONDS: String(LEASE_SECONDS),
    SEALMAIL_OUTBOUND_SWEEP_SECONDS: '1',
    SEALMAIL_SPAM_THRESHOLD: '1000',
    LOG_LEVEL: 'warn',
    NODE_OPTIONS: '',
  };
}

let env: Record<string, string>;

/** Runs a node script from the repository root; resolves with its output, rejects if it fails. */
function run(args: string[], extra: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const p = spawn(process.execPath, args, { cwd: root, env: childEnvironment(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`node ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

/** Starts one compiled service process; resolves once it serves. */
async function startProcess(name: string, bundle: 'api' | 'smtp', extra: Record<string, string>): Promise<void> {
  const log: string[] = [];
  const proc = spawn(process.execPath, [join(root, 'dist', `${bundle}.mjs`)], { cwd: root, env: childEnvironment({ ...env, ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  procs.set(name, { proc, log });
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}):\n${log.join('')}`);
    return bundle === 'api' ? (await get(Number(extra.SEALMAIL_API_PORT), '/readyz').catch(() => ({ status: 0 }))).status === 200 : (await smtpGreeting(Number(extra.SEALMAIL_SMTP_PORT)).catch(() => '')).startsWith('220');
  }, 60_000);
}

function kill(name: string): void {
  procs.get(name)!.proc.kill('SIGKILL');
}

const get = (port: number, path: string, token?: string) => httpsGet(port, path, tls.cert, token);

/** An event stream (server-sent events) on one API; collects the `mail` events' entry ids. */
function eventStream(port: number, token: string) {
  const entryIds = new Set<string>();
  let buffer = '';
  let ended = false;
  const stream = { entryIds, opened: Promise.resolve(), ended: () => ended, close: () => {} };
  stream.opened = new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/mail/events', ca: tls.cert, servername: 'localhost', headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`event stream: ${res.statusCode}`));
      res.on('data', (d: Buffer) => {
        buffer += d.toString();
        if (buffer.includes(': sealmail mail events')) resolve();
        for (const m of buffer.matchAll(/^data: (.*)$/gm)) {
          const e = JSON.parse(m[1]!) as { entryId: string; kind: string };
          if (e.kind === 'new') entryIds.add(e.entryId);
        }
      });
      res.on('close', () => (ended = true));
    });
    req.on('error', () => ((ended = true), reject(new Error('event stream failed'))));
    req.end();
    stream.close = () => req.destroy();
  });
  return stream;
}

/** A signed-in device of `address` on one API (the real client flow over HTTPS). */
async function device(port: number, address: string, store = memoryKeyStore()) {
  const api0 = new ApiClient({ baseUrl: `https://127.0.0.1:${port}`, fetch: httpsFetch(tls.cert) });
  const { token } = await api0.signIn(address, passwords[address]!);
  const api = new ApiClient({ baseUrl: `https://127.0.0.1:${port}`, fetch: httpsFetch(tls.cert), token });
  const identity = new Identity(api, store);
  await identity.setUpThisDevice({ address, name: `Laptop ${port}`, kind: 'cli' });
  return { token, api, identity, mail: new Mailer(api, identity, address), store };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-scale-'));
  // The certificate made once, before the processes: they all read the same one.
  tls = await loadOrCreateTls({ certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
  await startMx();
  const dnsFile = join(dir, 'dns.json');
  await writeFile(
    dnsFile,
    JSON.stringify({
      'MX remote.example': [{ exchange: '127.0.0.1', priority: 10 }],
      'TXT sender.example': [['v=spf1 ip4:127.0.0.1 -all']],
    }),
  );
  env = commonEnv(dnsFile);
  // The production form: the compiled bundles (a second build meanwhile is harmless).
  expect(await run(['scripts/build-services.mjs'], {})).toMatch(/built dist\/api\.mjs/);
  // The compiled migrate step, as docker-compose runs it before the services: the database is
  // up to date, and it makes the server mail key every process then loads.
  expect(await run(['dist/migrate.mjs'], { ...env, SEALMAIL_SEED_DEMO: 'false' })).toBe('migrations up to date\n');
  expect((await readFile(join(dir, 'keys', 'server-mail.key'), 'utf8')).length).toBeGreaterThan(0);
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  // The EHLO name tells the stand-in MX which API process is delivering.
  await startProcess('api-a', 'api', { SEALMAIL_API_PORT: String(ports.apiA), SEALMAIL_SMTP_HOSTNAME: 'a.example.test' });
  await startProcess('api-b', 'api', { SEALMAIL_API_PORT: String(ports.apiB), SEALMAIL_SMTP_HOSTNAME: 'b.example.test' });
  await startProcess('smtp-1', 'smtp', { SEALMAIL_SMTP_PORT: String(ports.smtp1), SEALMAIL_SMTPS_PORT: String(await freePort()), SEALMAIL_SMTP_HOSTNAME: 'mx1.example.test' });
  await startProcess('smtp-2', 'smtp', { SEALMAIL_SMTP_PORT: String(ports.smtp2), SEALMAIL_SMTPS_PORT: String(await freePort()), SEALMAIL_SMTP_HOSTNAME: 'mx2.example.test' });
}, 180_000);

afterAll(async () => {
  releaseTrap?.();
  for (const answer of heldAnswers.splice(0)) answer();
  for (const { proc } of procs.values()) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await new Promise<void>((r) => (mx ? mx.close(() => r()) : r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('two API and two SMTP processes on one Postgres', () => {
  it('keep every 250’d message once, send every queued mail once, and tell clients of either API, while one of each is killed', async () => {
    // Bob reads mail on a device of his; his event streams are open on both APIs.
    const bob = await device(ports.apiA, 'bob@example.test');
    const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
    const streamA = eventStream(ports.apiA, bob.token);
    const streamB = eventStream(ports.apiB, bob.token);
    await Promise.all([streamA.opened, streamB.opened]);
    // Alice sends through both APIs: a device on each (the same keys).
    const aliceA = await device(ports.apiA, 'alice@example.test');
    const aliceB = await device(ports.apiB, 'alice@example.test', aliceA.store);

    // Inbound: 2 × 100 messages, 4 connections to each SMTP process; each From is unique.
    const acked = new Set<string>();
    const transports = [ports.smtp1, ports.smtp2].map((port) => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: 4, maxMessages: Infinity }));
    let smtpKilled = false;
    const inbound = [0, 1].flatMap((t) =>
      Array.from({ length: 100 }, (_, i) => {
        const from = `in${t + 1}-${i}@sender.example`;
        return transports[t]!.sendMail({ from, to: 'bob@example.test', subject: `inbound ${t + 1}-${i}`, text: `message ${i}\r\n`.repeat(20) }).then(
          (info) => {
            if (/^250 /.test(info.response)) acked.add(from);
            // Mid-stream: SMTP process 1 dies once it has acknowledged 30 messages.
            if (!smtpKilled && [...acked].filter((a) => a.startsWith('in1-')).length >= 30) {
              smtpKilled = true;
              kill('smtp-1');
            }
          },
          () => undefined,
        );
      }),
    );

    // Outbound: 2 × 12 mails through both APIs; API A dies while delivering its 2nd.
    const queued: string[] = [];
    let apiKilled = false;
    let killedAt = 0;
    const caught = new Promise<string>((resolve) => {
      let seen = 0;
      let released = '';
      const arm = (): void => {
        trap = {
          helo: 'a.example.test',
          caught: (subject) => {
            if (++seen < 2) {
              releaseTrap!();
              releaseTrap = null;
              released = subject;
              return arm();
            }
            silenced.add('a.example.test');
            // The delivery released just before was answered 250 a moment ago: A records it before
            // it dies. (A crash between a receiver's 250 and the sender's record sends that mail
            // again — SMTP delivers at least once — and is not what this kill is about: it lands on
            // the delivery held here.)
            const recipient = `erin-${released.replace(/^outbound /, '')}@remote.example`.toLowerCase();
            void until(async () => (await tdb.prisma.outboundDelivery.count({ where: { recipient, status: 'delivered' } })) === 1, 30_000)
              .catch(() => undefined)
              .then(() => {
                kill('api-a');
                apiKilled = true;
                killedAt = Date.now();
                resolve(subject);
              });
          },
        };
      };
      arm();
    });
    const outbound = (async () => {
      for (let i = 0; i < 12; i++) {
        for (const [label, alice] of [['A', aliceA], ['B', aliceB]] as const) {
          const subject = `outbound ${label}-${i}`;
          const sent = await alice.mail.send({ to: [`erin-${label}-${i}@remote.example`.toLowerCase()], subject, text: 'x', allowStandard: true }).then(
            () => true,
            () => false,
          );
          if (sent) queued.push(subject);
        }
      }
    })();

    await Promise.all([...inbound, outbound]);
    for (const t of transports) t.close();
    const inFlight = await caught;
    // The killed process's connections are gone: the held messages were never accepted by the MX.
    releaseTrap?.();
    for (const answer of heldAnswers.splice(0)) answer();
    expect(smtpKilled).toBe(true);
    expect(apiKilled).toBe(true);
    expect(queued).toContain(inFlight);

    // Every message that got a 250 is stored, once: one entry per From, none twice.
    expect([...acked].filter((a) => a.startsWith('in1-')).length).toBeGreaterThanOrEqual(30);
    expect([...acked].filter((a) => a.startsWith('in2-'))).toHaveLength(100);
    const stored = await tdb.prisma.mailboxEntry.findMany({ where: { userId: bobId }, select: { id: true, message: { select: { senderAddress: true } } } });
    const senders = stored.map((e) => e.message.senderAddress).filter((a) => a.endsWith('@sender.example'));
    expect(senders.length).toBe(new Set(senders).size);
    for (const a of acked) expect(senders, a).toContain(a);
    expect(await tdb.prisma.message.count({ where: { entries: { none: {} } } })).toBe(0);

    // Every queued outbound mail reaches the MX once — the one API A was delivering too, after
    // its lease ran out, from API B.
    await until(async () => queued.every((s) => accepted.some((a) => a.subject === s)), 120_000);
    // Measured from the kill: the held delivery waits out its lease, then API B takes it.
    const inFlightRow = await tdb.prisma.outboundDelivery.findFirstOrThrow({ where: { recipient: `erin-${inFlight.split(' ')[1]!}@remote.example`.toLowerCase() } });
    const recoveredAfterMs = inFlightRow.updatedAt.getTime() - killedAt;
    await new Promise((r) => setTimeout(r, 2 * LEASE_SECONDS * 1000)); // a duplicate would come meanwhile
    for (const s of queued) expect(accepted.filter((a) => a.subject === s).length, s).toBe(1);
    // The figures docs/operations.md quotes.
    console.log(
      `scale-out: inbound ${acked.size}/200 answered 250 (${[...acked].filter((a) => a.startsWith('in1-')).length} by the killed SMTP process), ${senders.length} stored, 0 twice; ` +
        `outbound ${queued.length} queued, ${accepted.length} accepted by the MX (${accepted.filter((a) => a.by === 'a.example.test').length} from API A, ${accepted.filter((a) => a.by === 'b.example.test').length} from API B), 0 twice; ` +
        `the one API A was sending delivered by API B ${(recoveredAfterMs / 1000).toFixed(1)} s after API A was killed (lease ${LEASE_SECONDS} s)`,
    );
    expect(accepted.find((a) => a.subject === inFlight)?.by).toBe('b.example.test');
    expect([inFlightRow.status, inFlightRow.attempts]).toEqual(['delivered', 1]);
    expect(await tdb.prisma.outboundDelivery.count({ where: { status: { not: 'delivered' } } })).toBe(0);

    // Events: the stream on API B (alive throughout) heard of every message that got a 250, from
    // both SMTP processes (an SMTP process announces a message before its 250; one killed between
    // storing and announcing leaves a stored message unannounced, and no 250 was given for it);
    // the stream on API A heard of messages from both before it was killed.
    const inboxIds = stored.filter((e) => acked.has(e.message.senderAddress)).map((e) => e.id);
    await until(async () => inboxIds.every((id) => streamB.entryIds.has(id)), 30_000);
    expect(streamA.ended()).toBe(true);
    const heardByA = stored.filter((e) => streamA.entryIds.has(e.id)).map((e) => e.message.senderAddress);
    expect(heardByA.some((a) => a.startsWith('in1-'))).toBe(true);
    expect(heardByA.some((a) => a.startsWith('in2-'))).toBe(true);

    // API A started again: a stream on it hears of new mail through the surviving SMTP process.
    await startProcess('api-a', 'api', { SEALMAIL_API_PORT: String(ports.apiA), SEALMAIL_SMTP_HOSTNAME: 'a.example.test' });
    const streamA2 = eventStream(ports.apiA, bob.token);
    await streamA2.opened;
    const late = nodemailer.createTransport({ host: '127.0.0.1', port: ports.smtp2, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } });
    expect((await late.sendMail({ from: 'late@sender.example', to: 'bob@example.test', subject: 'late', text: 'x' })).response).toMatch(/^250 /);
    const lateEntry = await until(async () => tdb.prisma.mailboxEntry.findFirst({ where: { userId: bobId, message: { senderAddress: 'late@sender.example' } } }));
    await until(async () => streamA2.entryIds.has(lateEntry.id) && streamB.entryIds.has(lateEntry.id), 30_000);
    for (const s of [streamA2, streamB]) s.close();
  }, 300_000);
});
