/**
 * Where the client's time goes when it opens one mail and shows one page (issue 19, docs/performance.md
 * "Mailbox in the client"). A real API over HTTP on loopback with an embedded Postgres; Bob's
 * client opens the same 2 KiB mail repeatedly, then pages of 50 are shown three ways: opening
 * every mail (Mailer.list, as before), from sealed summaries (Mailer.page, cold) and from the row
 * cache (Mailer.page, warm). Stage timings are measured by timing the same calls the Mailer
 * makes, on the same bytes. Reference in the same run: native X25519 + SHA-256 (node:crypto).
 */
import { createHash, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore, memorySummaryCache, parseMime } from '@sealmail/client/identity';
import { XWING, decodeEnvelope, decodeRecipientBox, fromBase64Url, openMailPiece, openMailSummary, openManifest, openRecipientBox, recipientDigest, keyId, publicKeysOf, verifyWithContext, xwingDecapsulate, safetyNumber } from '@sealmail/crypto';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => x.toFixed(3).padStart(10);
async function timed(n: number, f: () => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'sealmail-client-bench-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000), postgresFlags: ['-c', 'fsync=off'] });
try {
  await applyMigrations(pg.connectionString);
  const db = createDb(pg.connectionString, { maxConnections: 10 });
  const seed = await seedDemo(db, { domain: 'example.test' });
  const app = await buildApp({ logger: createLogger({ level: 'silent' }), db, version: 'bench' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const password = (a: string) => seed.users.find((u) => u.address === a)?.password ?? '';
  async function device(address: string) {
    const token = (await new ApiClient({ baseUrl: base }).signIn(address, password(address))).token;
    const api = new ApiClient({ baseUrl: base, token });
    const identity = new Identity(api, memoryKeyStore());
    await identity.setUpThisDevice({ address, name: 'Bench', kind: 'cli' });
    return { api, identity, mail: new Mailer(api, identity, address, 'Bench') };
  }
  const alice = await device('alice@example.test');
  const bob = await device('bob@example.test');
  const body = 'Hello,\n' + 'a line of an ordinary mail body.\n'.repeat(60);
  for (let i = 0; i < 50; i++) await alice.mail.send({ to: ['bob@example.test'], subject: `Bench ${i}`, text: body });

  // --- One mail, stage by stage (the calls Mailer.open makes, on the same bytes).
  const { entries } = await bob.api.listMail({ folder: 'inbox', limit: 50 });
  const entry = entries[0]!;
  await bob.mail.open(entry.id); // warms the sender's chain and the PUK cache
  const bobUserId = (await bob.identity.thisDevice('bob@example.test')).userId;
  const envelope = fromBase64Url(entry.envelope);
  const record = fromBase64Url(entry.box);
  const rec = decodeRecipientBox(record);
  const puk = (await bob.mail.puks(rec.generation)).find((p) => p.generation === rec.generation)!;
  const aliceChain = (await bob.identity.verifiedChain('alice@example.test')).state!;
  const signer = [...aliceChain.devices.values()][0]!.keys.signingPublicKey;
  const N = 200;
  const whole = await timed(N, () => bob.mail.open(entry.id));
  const fetchEntry = await timed(N, () => bob.api.getMail(entry.id));
  const decodeT = await timed(N, () => (decodeEnvelope(envelope), decodeRecipientBox(record)));
  const digestT = await timed(N, () => recipientDigest(envelope, { role: rec.role, userId: rec.userId, generation: rec.generation, keyId: keyId(publicKeysOf(puk)) }));
  const enc = rec.box.subarray(2, 2 + XWING.cipherText);
  const decapT = await timed(N, () => xwingDecapsulate(enc, puk.encryption.secretKey));
  const boxT = await timed(N, () => openRecipientBox({ envelope, record, userId: bobUserId, puk, expectedSenderSigningKeys: [signer] }));
  const opened = openRecipientBox({ envelope, record, userId: bobUserId, puk, expectedSenderSigningKeys: [signer] });
  const digest = opened.digest;
  // The signature lives inside the box; verifying costs what verifying any Ed25519 signature over 32 bytes costs.
  const sig = new Uint8Array(64);
  const verifyT = await timed(N, () => verifyWithContext(signer, 'mail-digest', digest, sig));
  const manifestBytes = fromBase64Url(entry.manifest);
  const manifestT = await timed(N, () => openManifest({ envelope: opened.envelope, manifest: manifestBytes, messageKey: opened.messageKey }));
  const manifest = await openManifest({ envelope: opened.envelope, manifest: manifestBytes, messageKey: opened.messageKey });
  const full = await bob.api.getMail(entry.id);
  const bodyCt = fromBase64Url(full.body!);
  const pieceT = await timed(N, () => openMailPiece({ manifest, index: 0, ciphertext: bodyCt }));
  const mimeBytes = await openMailPiece({ manifest, index: 0, ciphertext: bodyCt });
  const mimeT = await timed(N, () => parseMime(mimeBytes));
  const safetyT = await timed(N, () => safetyNumber(aliceChain));
  const summaryCt = fromBase64Url(entry.summary!);
  const summaryT = await timed(N, () => openMailSummary({ manifest, ciphertext: summaryCt }));
  // References: native X25519 and SHA-256 of the same body.
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const x25519T = await timed(N, () => diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey }));
  const shaT = await timed(N, () => createHash('sha256').update(bodyCt).digest());

  // --- A page of 50: every mail opened, from summaries (cold), from the row cache (warm).
  const listT = await timed(5, () => bob.mail.list({ folder: 'inbox', limit: 50 }));
  const cold = await timed(5, () => bob.mail.page({ folder: 'inbox', limit: 50 }));
  bob.mail.summaryCache = memorySummaryCache();
  await bob.mail.page({ folder: 'inbox', limit: 50 });
  const warm = await timed(5, () => bob.mail.page({ folder: 'inbox', limit: 50 }));
  const listOnly = await timed(5, () => bob.api.listMail({ folder: 'inbox', limit: 50 }));

  console.log(`\nMailbox in the client, Node ${process.version}, ${new Date().toISOString()}\n`);
  console.log('one 2 KiB mail (p50 of ' + N + ')'.padEnd(54) + '      ms p50      ms p99');
  const rows: [string, number[]][] = [
    ['  Mailer.open, whole (chain and keys cached)', whole],
    ['    GET the entry (HTTP on loopback)', fetchEntry],
    ['    decode envelope + box record', decodeT],
    ['    recipient digest (SHA-256 over the envelope)', digestT],
    ['    X-Wing decapsulation (ML-KEM-768 + X25519)', decapT],
    ['    openRecipientBox (decap + HPKE + Ed25519 verify)', boxT],
    ['    Ed25519 verify alone (noble)', verifyT],
    ['    openManifest', manifestT],
    ['    open body piece (AES-256-GCM, hash)', pieceT],
    ['    parse MIME (postal-mime)', mimeT],
    ['    safety number of the sender\'s chain', safetyT],
    ['  openMailSummary (instead of body + MIME)', summaryT],
    ['  reference: native X25519 (node:crypto)', x25519T],
    ['  reference: native SHA-256 of the body ciphertext', shaT],
  ];
  for (const [name, xs] of rows) console.log(name.padEnd(60) + ms(q(xs, 0.5)) + ms(q(xs, 0.99)));
  console.log('\na page of 50 (p50 of 5)'.padEnd(61) + '      ms p50      ms p99');
  for (const [name, xs] of [
    ['  GET the page only (reference)', listOnly],
    ['  Mailer.list: every mail opened (before)', listT],
    ['  Mailer.page: sealed summaries, cold', cold],
    ['  Mailer.page: row cache, warm', warm],
  ] as const) {
    console.log(name.padEnd(60) + ms(q(xs, 0.5)) + ms(q(xs, 0.99)));
  }
  await app.close();
  await db.$disconnect();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
