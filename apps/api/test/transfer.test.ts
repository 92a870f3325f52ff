/**
 * Export and import on the device, and secure replies through expiring links (docs/mail.md
 * §10–§11, docs/crypto.md §7.6), against the real API and Postgres with the real client code.
 * Outside mail goes to a real smtp-server on loopback standing in for the recipient's MX; MX
 * answers come from a table (the only thing mocked).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { unzipSync } from 'fflate';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore, parseMime, type OpenedMail } from '@sealmail/client/identity';
import { MailTransfer, splitMbox } from '@sealmail/client/transfer';
import { replyGrantOf, sealLinkReply } from '@sealmail/client/link-reply';
import { buildMime } from '@sealmail/client/mime';
import { linkReplyLimits } from '@sealmail/contract';
import { encodeLinkReplyGrant, fromBase64Url, sealMail, openMailPiece, openManifest, openPasswordBox, passwordDigest, pieceCiphertextLength, toBase64Url } from '@sealmail/crypto';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { ephemeralServerMailKey, loadOrCreateDkimKey } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { MtaSts } from '../src/mail/mta-sts';
import { injectFetch, startRemoteMx } from './helpers';

let tdb: TestDatabase;
let api: FastifyInstance;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let dir: string;
let tls: TlsMaterial;
let passwords: Record<string, string>;
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
const CANARY = `canary-import-${randomBytes(6).toString('hex')}`;
/** Link passwords as the sending client gave them to the API (the test reads its own requests). */
const linkPasswords: { address: string; password: string }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-transfer-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
  api = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    tls,
    now: () => clock.now,
    auth: { ...defaultAuthSettings, sessionIdleMs: 30 * 86400_000, sessionMaxMs: 60 * 86400_000 },
    serverKey: ephemeralServerMailKey(),
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      viewerUrl: 'https://localhost:9',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx: async (domain) => (domain === 'example.org' ? [{ exchange: 'localhost', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
      port: mx.port,
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
      mtaSts: new MtaSts({ resolveTxt: async () => [] }),
    },
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
async function user(address: string) {
  const res = await api.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: passwords[address] } });
  const token = (res.json() as { token: string }).token;
  const inject = injectFetch(api);
  // Records the link passwords this client sends (only so the test can play the outside recipient).
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    if (String(input).endsWith('/api/v1/mail/messages') && init?.method === 'POST') {
      const b = JSON.parse(String(init.body)) as { links?: { recipients: { address: string; password: string }[] } };
      for (const r of b.links?.recipients ?? []) linkPasswords.push({ address: r.address, password: r.password });
    }
    return inject(input, init);
  }) as typeof globalThis.fetch;
  const client = new ApiClient({ baseUrl: 'http://api.invalid', token, fetch });
  if (!stores.has(address)) stores.set(address, memoryKeyStore());
  const identity = new Identity(client, stores.get(address)!);
  await identity.setUpThisDevice({ address, name: 'Laptop', kind: 'cli' });
  const mail = new Mailer(client, identity, address);
  return { api: client, identity, mail, transfer: new MailTransfer(client, identity, mail), token };
}

async function tableDump(): Promise<string> {
  const tables = await tdb.prisma.$queryRaw<{ t: string }[]>`SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'`;
  const out: string[] = [];
  for (const { t } of tables) {
    const rows = await tdb.prisma.$queryRawUnsafe<{ r: string }[]>(`SELECT x::text AS r FROM ${t.split('.').map((p) => `"${p}"`).join('.')} x`);
    out.push(...rows.map((r) => r.r));
  }
  return out.join('\n');
}

async function exportOf(t: MailTransfer, folder: 'inbox' | 'archive' | 'trash', format: 'mbox' | 'eml-zip') {
  const chunks: Uint8Array[] = [];
  const p = await t.exportMail({ folder, format, write: (c) => void chunks.push(c) });
  expect(p.failed).toBe(0);
  return new Uint8Array(Buffer.concat(chunks));
}
const fileOf = (bytes: Uint8Array) => new Blob([bytes as Uint8Array<ArrayBuffer>]);

/** What must survive a round trip, per message (attachments by their bytes). */
async function essence(t: Awaited<ReturnType<typeof user>>, folder: 'inbox' | 'archive' | 'trash') {
  const { items } = await t.mail.list({ folder });
  const out = [];
  for (const item of items.reverse()) {
    const m: OpenedMail = await t.mail.open(item.entryId);
    const files = [];
    for (const a of m.attachments) files.push({ name: a.filename, type: a.contentType, sha: Buffer.from(await t.mail.attachmentBytes(m, a.piece)).toString('base64') });
    out.push({
      thread: m.entry.threadId,
      mime: { subject: m.mime.subject, from: m.mime.from, to: m.mime.to, cc: m.mime.cc, date: m.mime.date, messageId: m.mime.messageId, inReplyTo: m.mime.inReplyTo, references: m.mime.references, text: m.mime.text, html: m.mime.html },
      files,
    });
  }
  // In Date order; mails sent within one second share a Date (an import files them at it), so the Message-ID breaks ties.
  return out.sort((a, b) => (a.mime.date ?? '').localeCompare(b.mime.date ?? '') || (a.mime.messageId ?? '').localeCompare(b.mime.messageId ?? ''));
}
/** Thread ids replaced by their order of appearance (threads are new ids in a new folder). */
const shape = (e: Awaited<ReturnType<typeof essence>>) => {
  const ids: string[] = [];
  return e.map((x) => ({ ...x, thread: ids.includes(x.thread) ? ids.indexOf(x.thread) : ids.push(x.thread) - 1 }));
};

describe('export and import on the device', { timeout: 180_000 }, () => {
  const binary = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256);

  it('an mbox export of a folder re-imports identically (headers, dates, attachments, threads), sealed: no canary reaches the server', async () => {
    const bob = await user('bob@example.test');
    const alice = await user('alice@example.test');
    const first = await bob.mail.send({ to: ['alice@example.test'], subject: `Plans ${CANARY}`, text: `From the start:\n>From the middle\n${CANARY}`, attachments: [{ name: 'data.bin', type: 'application/octet-stream', size: binary.length, stream: () => new Blob([binary]).stream() }] });
    const opened = await bob.mail.open(first.entryId);
    clock.now = new Date(clock.now.getTime() + 60_000);
    await bob.mail.send({ to: ['alice@example.test'], subject: 'Re: Plans', text: 'Agreed.', html: '<p>Agreed.</p>', inReplyTo: opened });
    const before = await essence(alice, 'inbox');
    expect(before).toHaveLength(2);
    expect(before[0]!.thread).toBe(before[1]!.thread);

    const mbox = await exportOf(alice.transfer, 'inbox', 'mbox');
    const text = Buffer.from(mbox).toString('latin1');
    expect(text.startsWith('From bob@example.test ')).toBe(true);
    expect(text.split('\n').filter((l) => /^From /.test(l))).toHaveLength(2);
    const split = [];
    for await (const m of splitMbox([mbox], { maxMessageBytes: 1 << 24 })) split.push(m);
    expect(split).toHaveLength(2);

    const result = await alice.transfer.importMail({ file: fileOf(mbox), folder: 'archive' });
    expect(result).toEqual({ done: 2, failed: 0, failures: [] });
    const after = await essence(alice, 'archive');
    expect(shape(after)).toEqual(shape(before));
    expect(after.find((m) => m.files.length)!.files[0]!.sha).toBe(Buffer.from(binary).toString('base64'));
    // Labelled as imported by this user's own device, never "E2E Encrypted" from bob.
    const imported = await alice.mail.open((await alice.mail.list({ folder: 'archive' })).items[0]!.entryId);
    expect(imported.protection).toBe('Imported');
    expect(imported.sender.address).toBe('bob@example.test');
    // Dates: filed at the time the message's own Date names.
    const entries = (await alice.api.listMail({ folder: 'archive' })).entries;
    expect(entries.map((e) => e.receivedAt).sort()).toEqual(before.map((b) => new Date(b.mime.date!).toISOString()).sort());

    // Canary: subject, body and attachment stayed ciphertext on the server.
    const dump = await tableDump();
    expect(dump).not.toContain(CANARY);
    expect(dump).not.toContain(Buffer.from(CANARY).toString('hex'));
  });

  it('an EML zip export re-imports identically', async () => {
    const alice = await user('alice@example.test');
    const before = await essence(alice, 'inbox');
    const zip = await exportOf(alice.transfer, 'inbox', 'eml-zip');
    const files = unzipSync(zip);
    const names = Object.keys(files);
    expect(names).toHaveLength(2);
    expect(names.every((n) => n.endsWith('.eml'))).toBe(true);
    const parsed = await parseMime(files[names[0]!]!);
    expect(parsed.subject).toBe(`Plans ${CANARY}`);
    expect(await alice.transfer.importMail({ file: fileOf(zip), folder: 'trash' })).toEqual({ done: 2, failed: 0, failures: [] });
    expect(shape(await essence(alice, 'trash'))).toEqual(shape(before));
  });

  it('imports a single foreign EML with its Date, Message-ID and threading headers', async () => {
    const bob = await user('bob@example.test');
    const eml = ['From: "Dora" <dora@elsewhere.example>', 'To: bob@example.test', 'Subject: Old mail', 'Date: Tue, 03 Mar 2026 10:00:00 +0100', 'Message-ID: <old-1@elsewhere.example>', 'In-Reply-To: <old-0@elsewhere.example>', 'References: <old-0@elsewhere.example>', 'Content-Type: text/plain; charset=utf-8', '', 'From here on, hello.', ''].join('\r\n');
    expect(await bob.transfer.importMail({ file: fileOf(new TextEncoder().encode(eml)), folder: 'archive' })).toMatchObject({ done: 1, failed: 0 });
    const m = await bob.mail.open((await bob.mail.list({ folder: 'archive' })).items[0]!.entryId);
    expect(m.mime).toMatchObject({ subject: 'Old mail', messageId: 'old-1@elsewhere.example', inReplyTo: 'old-0@elsewhere.example', references: ['old-0@elsewhere.example'] });
    expect(new Date(m.mime.date!).toISOString()).toBe('2026-03-03T09:00:00.000Z');
    expect(m.entry.receivedAt).toBe('2026-03-03T09:00:00.000Z');
    expect(m.mime.text.trim()).toBe('From here on, hello.');
  });

  it('refuses an import the device did not seal to the user alone', async () => {
    const alice = await user('alice@example.test');
    const res = await api.inject({ method: 'POST', url: '/api/v1/mail/import', headers: { authorization: `Bearer ${alice.token}` }, payload: { folder: 'inbox', envelope: 'AAAA', manifest: 'AAAA', body: 'AAAA', box: 'AAAA', from: 'x@y.example', receivedAt: new Date().toISOString() } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('MAIL_INVALID');
  });
});

/** The outside recipient's side: opens the link as the viewer does (digest, password box, manifest, body). */
async function openAsViewer(linkId: string, password: string) {
  const res = await api.inject({ method: 'GET', url: `/api/v1/links/${linkId}` });
  expect(res.statusCode).toBe(200);
  const data = res.json() as { envelope: string; manifest: string; passwordBox: string; body: string; recipient: string };
  const envelope = fromBase64Url(data.envelope);
  const open = async (d: typeof data) => {
    const { messageKey, envelope: env } = openPasswordBox({ envelope, box: fromBase64Url(d.passwordBox), password, digest: passwordDigest(envelope) });
    const manifest = await openManifest({ envelope: env, manifest: fromBase64Url(d.manifest), messageKey });
    const mime = await parseMime(await openMailPiece({ manifest, index: 0, ciphertext: fromBase64Url(d.body) }));
    return { mime, copyMessageId: env.messageId };
  };
  return { data, open };
}

describe('secure reply through an expiring link', { timeout: 180_000 }, () => {
  it('lands in the sender’s thread labelled as a link reply; forged, substituted, rate-limited, revoked and expired replies are refused or flagged', async () => {
    const alice = await user('alice@example.test');
    const sent = await alice.mail.send({ to: ['dave@example.org'], subject: 'Quote', text: 'Our quote, see attached.', links: { expiresIn: '7d' } });
    const link = await tdb.prisma.mailLink.findFirstOrThrow({ where: { sourceMessageId: sent.messageId } });
    const password = linkPasswords.find((p) => p.address === 'dave@example.org')!.password;
    const viewer = await openAsViewer(link.id, password);
    const { mime, copyMessageId } = await viewer.open(viewer.data);
    expect(viewer.data.recipient).toBe('dave@example.org');
    const grant = replyGrantOf(mime)!;
    expect(grant.userId).toBe((await alice.identity.thisDevice('alice@example.test')).userId);

    // The reply, with an attachment, sealed here to the grant's key.
    const file = new Uint8Array(5000).map((_, i) => i % 251);
    const reply = await sealLinkReply({ mime, copyMessageId, from: 'dave@example.org', text: `Thanks, accepted. ${CANARY}-reply`, attachments: [{ filename: 'signed.pdf', contentType: 'application/pdf', bytes: file }] });
    const post = (body: unknown, id = link.id) => api.inject({ method: 'POST', url: `/api/v1/links/${id}/replies`, payload: body as object, headers: { origin: 'https://viewer.elsewhere.example' } });
    const accepted = await post(reply);
    expect(accepted.statusCode, accepted.body).toBe(200);
    const inbox = (await alice.mail.list({ folder: 'inbox' })).items.filter((i) => 'subject' in i && i.subject === 'Re: Quote');
    expect(inbox).toHaveLength(1);
    const got = await alice.mail.open(inbox[0]!.entryId);
    expect(got.protection).toBe('Link reply');
    expect(got.signature).toBe('not-signed');
    expect(got.sender.address).toBe('dave@example.org');
    expect(got.mime.inReplyTo).toBe(mime.messageId);
    expect(Buffer.from(await alice.mail.attachmentBytes(got, 1)).equals(Buffer.from(file))).toBe(true);
    // In the thread of Alice's Sent copy.
    expect(got.entry.threadId).toBe((await alice.api.getMail(sent.entryId)).threadId);
    expect(await tableDump()).not.toContain(`${CANARY}-reply`);

    // A reply made by someone without the grant's secret (the server, which knows Alice's public
    // key) is never labelled a link reply.
    const forgedGrant = encodeLinkReplyGrant({ ...grant, secret: new Uint8Array(randomBytes(32)) });
    const forgedMime = { ...mime, sealmailHeaders: { 'x-sealmail-link-reply': toBase64Url(forgedGrant) } };
    expect((await post(await sealLinkReply({ mime: forgedMime, copyMessageId, from: 'dave@example.org', text: 'forged', attachments: [] }))).statusCode).toBe(200);
    const forged = (await alice.mail.list({ folder: 'inbox' })).items.find((i) => 'snippet' in i && i.snippet === 'forged')!;
    const forgedOpen = await alice.mail.open(forged.entryId);
    expect(forgedOpen.protection).toBe('Unverified');
    expect(forgedOpen.warning).toMatch(/proof does not match/);

    // A server that swaps the reply key inside the link mail swaps ciphertext the digest binds: the viewer refuses it.
    const other = await alice.mail.send({ to: ['erin@example.org'], subject: 'Other', text: 'other', links: { expiresIn: '1d' } });
    const otherLink = await tdb.prisma.mailLink.findFirstOrThrow({ where: { sourceMessageId: other.messageId } });
    const otherBody = (await api.inject({ method: 'GET', url: `/api/v1/links/${otherLink.id}` })).json() as { body: string; manifest: string };
    await expect(viewer.open({ ...viewer.data, body: otherBody.body })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await expect(viewer.open({ ...viewer.data, manifest: otherBody.manifest })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });

    // Rate limit: linkReplyLimits.perHour per link per hour (two used above).
    for (let i = 2; i < linkReplyLimits.perHour; i++) expect((await post(await sealLinkReply({ mime, copyMessageId, from: 'dave@example.org', text: `more ${i}`, attachments: [] }))).statusCode).toBe(200);
    const limited = await post(await sealLinkReply({ mime, copyMessageId, from: 'dave@example.org', text: 'one too many', attachments: [] }));
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');

    // A reply from another address than the link's recipient is refused.
    clock.now = new Date(clock.now.getTime() + 2 * 3600_000);
    const wrongFrom = await post(await sealLinkReply({ mime, copyMessageId, from: 'mallory@example.org', text: 'hi', attachments: [] }));
    expect(wrongFrom.json().error.code).toBe('MAIL_INVALID');

    // Size: more than linkReplyLimits.attachmentBytes of attachments is refused before anything is stored.
    const big = await sealLinkReply({ mime, copyMessageId, from: 'dave@example.org', text: 'big', attachments: [] });
    const junk = toBase64Url(new Uint8Array(pieceCiphertextLength(linkReplyLimits.attachmentBytes / 2 + 1)));
    const tooLarge = await post({ ...big, attachments: [junk, junk] });
    expect([tooLarge.statusCode, tooLarge.json().error.code]).toEqual([413, 'MESSAGE_TOO_LARGE']);

    // Revoked: the sender withdraws the links; replying and opening answer LINK_REVOKED.
    const revoked = await api.inject({ method: 'POST', url: `/api/v1/mail/messages/${sent.entryId}/links/revoke`, headers: { authorization: `Bearer ${alice.token}` } });
    expect(revoked.json()).toEqual({ revoked: 1 });
    const afterRevoke = await post(await sealLinkReply({ mime, copyMessageId, from: 'dave@example.org', text: 'late', attachments: [] }));
    expect([afterRevoke.statusCode, afterRevoke.json().error.code]).toEqual([410, 'LINK_REVOKED']);
    expect((await api.inject({ method: 'GET', url: `/api/v1/links/${link.id}` })).json().error.code).toBe('LINK_REVOKED');

    // Expired: a day later the other link (1d) takes no reply.
    const otherPassword = linkPasswords.find((p) => p.address === 'erin@example.org')!.password;
    const otherViewer = await openAsViewer(otherLink.id, otherPassword);
    const otherOpened = await otherViewer.open(otherViewer.data);
    const lateReply = await sealLinkReply({ ...otherOpened, from: 'erin@example.org', text: 'too late', attachments: [] });
    clock.now = new Date(clock.now.getTime() + 86400_000 + 60_000);
    const expired = await post(lateReply, otherLink.id);
    expect([expired.statusCode, expired.json().error.code]).toEqual([410, 'LINK_EXPIRED']);
  });
  it('a reply through a link cannot pass as mail from someone else: a From other than the link’s recipient is shown as the recipient, flagged', async () => {
    const alice = await user('alice@example.test');
    const sent = await alice.mail.send({ to: ['frank@example.org'], subject: 'Invoice', text: 'Our invoice.', links: { expiresIn: '7d' } });
    const link = await tdb.prisma.mailLink.findFirstOrThrow({ where: { sourceMessageId: sent.messageId } });
    const password = linkPasswords.find((p) => p.address === 'frank@example.org')!.password;
    const viewer = await openAsViewer(link.id, password);
    const { mime } = await viewer.open(viewer.data);
    const grant = replyGrantOf(mime)!;
    // Frank (or whoever holds the link) seals a reply by hand: the envelope says frank@example.org,
    // as the server demands, but the sealed body and summary claim a colleague of Alice's, and
    // carry no link-reply tag. The server cannot read either.
    const messageId = `${randomBytes(8).toString('hex')}@example.org`;
    const body = buildMime({ from: { name: 'Bob (CFO)', address: 'bob@example.test' }, to: ['alice@example.test'], cc: [], subject: 'Re: Invoice — new bank details', text: 'Please pay to the new account.', date: new Date(), messageId, references: [], attachments: [] });
    const sealed = await sealMail({
      messageId,
      sender: { kind: 'external', address: 'frank@example.org' },
      pieces: [{ kind: 'body', plaintext: body }],
      to: [{ userId: grant.userId, generation: grant.generation, publicKeys: grant.publicKeys }],
      summary: { subject: 'Re: Invoice — new bank details', fromName: 'Bob (CFO)', fromAddress: 'bob@example.test', snippet: 'spoofed', attachments: 0, sealedHeaders: [] },
    });
    const res = await api.inject({
      method: 'POST',
      url: `/api/v1/links/${link.id}/replies`,
      payload: { envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), body: toBase64Url(sealed.pieces[0]!), box: toBase64Url(sealed.boxes[0]!.record), attachments: [] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const row = (await alice.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Re: Invoice — new bank details')!;
    expect(row).toBeDefined();
    if (!('from' in row)) throw new Error(`the row did not open: ${JSON.stringify(row)}`);
    expect(row.from.address, 'the list row').toBe('frank@example.org');
    expect(row.protection).toBe('Unverified');
    const opened = await alice.mail.open(row.entryId);
    expect(opened.sender.address, 'the opened mail').toBe('frank@example.org');
    expect(opened.protection).toBe('Unverified');
    expect(opened.warning).toMatch(/bob@example\.test/);
  });
});
