import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  createMailPieceDecryptor,
  createMailPieceEncryptor,
  pieceCiphertextLength,
  type Hashing,
  type Manifest,
  createPasswordBox,
  createPieceEncryptor,
  createServerBox,
  decodeEnvelope,
  decodeManifest,
  decodeRecipientBox,
  encodeEnvelope,
  encodeManifest,
  encodeRecipientBox,
  generateDeviceKeys,
  generatePerUserKey,
  generateXWingKeyPair,
  mailPieceContext,
  openMail,
  openManifest,
  openPasswordBox,
  openRecipientBox,
  openServerBox,
  openLinkSecret,
  publicKeysOf,
  sealLinkSecret,
  BOX,
  sealMail,
  type MailRecipientKey,
  type PerUserKey,
} from '../src/index';
import { expectBytes, expectCode, expectCodeAsync, flip, seededRandom } from './helpers';

const random = seededRandom('mail');
const te = new TextEncoder();
const users = ['alice', 'bob', 'carol', 'dave'] as const;
const puks = Object.fromEntries(users.map((u, i) => [u, generatePerUserKey(3 + i, { random })])) as Record<(typeof users)[number], PerUserKey>;
const rk = (u: (typeof users)[number]): MailRecipientKey => ({ userId: u, generation: puks[u].generation, publicKeys: publicKeysOf(puks[u]) });
const aliceDevice = generateDeviceKeys({ random });
const sender = { kind: 'device' as const, userId: 'alice', deviceId: 'alice-laptop', signingSecretKey: aliceDevice.signing.secretKey, signingPublicKey: aliceDevice.signing.publicKey };
const body = te.encode('Subject: hi\r\n\r\ncanary-1234');
const attachment = new Uint8Array(70_000).map((_, i) => i & 0xff);

const sealed = await sealMail({
  messageId: 'm-1',
  sender,
  pieces: [
    { kind: 'body', plaintext: body },
    { kind: 'attachment', plaintext: attachment },
  ],
  to: [rk('bob'), rk('carol')],
  bcc: [rk('dave')],
  senderCopy: rk('alice'),
  random,
});
const recordOf = (u: string) => sealed.boxes.find((b) => b.userId === u)!.record;
const pieces = sealed.pieces as Uint8Array[];
const open = (u: (typeof users)[number], over: Partial<Parameters<typeof openMail>[0]> = {}) =>
  openMail({ envelope: sealed.envelope, record: recordOf(u), manifest: sealed.manifest, pieces, userId: u, puk: puks[u], expectedSenderSigningKeys: [aliceDevice.signing.publicKey], ...over });

describe('sealMail / openMail', () => {
  it.each(['bob', 'carol', 'dave', 'alice'] as const)('%s opens the mail, signed and valid', async (u) => {
    const m = await open(u);
    expect(m.status).toBe('signed-valid');
    expect(m.pieces[0]).toEqual(body);
    expect(m.pieces[1]!.length).toBe(attachment.length);
    expect(m.role).toBe({ bob: 'to', carol: 'to', dave: 'bcc', alice: 'sender-copy' }[u]);
    expect(m.envelope.recipients.map((r) => r.userId)).toEqual(['bob', 'carol']); // BCC hidden
    if (u === 'alice') expect(m.bcc).toEqual(['dave']);
    else expect(m.bcc).toBeUndefined();
  });

  it('the envelope does not contain the plaintext or the BCC list', () => {
    const hay = new TextDecoder('latin1').decode(sealed.envelope) + new TextDecoder('latin1').decode(sealed.manifest);
    expect(hay).not.toContain('canary-1234');
    expect(hay).not.toContain('dave');
  });

  it('signature status: the caller decides which keys are trusted', async () => {
    expect((await open('bob', { expectedSenderSigningKeys: [] })).status).toBe('signed-invalid');
    expect((await open('bob', { expectedSenderSigningKeys: [generateDeviceKeys({ random }).signing.publicKey] })).status).toBe('signed-invalid');
    expect((await open('bob', { expectedSenderSigningKeys: undefined })).status).toBe('signed-invalid');
  });

  it('a device sender names its own chain position inside the signed envelope (sender kind 3)', async () => {
    const chain = { length: 7, head: random(32) };
    const s = await sealMail({ messageId: 'pos-1', sender: { ...sender, chain }, pieces: [{ kind: 'body', plaintext: body }], to: [rk('bob')], random });
    expect(s.envelope[2 + 2 + 'pos-1'.length]).toBe(3);
    const env = decodeEnvelope(s.envelope);
    expect(env.sender).toEqual({ kind: 'device', userId: 'alice', deviceId: 'alice-laptop', signingPublicKey: aliceDevice.signing.publicKey, chain });
    const m = await openMail({ envelope: s.envelope, record: s.boxes[0]!.record, manifest: s.manifest, pieces: s.pieces as Uint8Array[], userId: 'bob', puk: puks.bob, expectedSenderSigningKeys: [aliceDevice.signing.publicKey] });
    expect(m.status).toBe('signed-valid');
    // The position is bound into the digest: a server that rewrites it breaks the box.
    const moved = Uint8Array.from(s.envelope);
    moved[moved.length - 64 - 41 - 2 - 1]! ^= 1; // the last byte of the chain head (then: u16 n, bob, two hashes)
    await expectCodeAsync(openMail({ envelope: moved, record: s.boxes[0]!.record, manifest: s.manifest, pieces: s.pieces as Uint8Array[], userId: 'bob', puk: puks.bob }), 'DECRYPTION_FAILED');
    // Mail sealed before positions existed (kind 1) still decodes, without a position.
    expect(decodeEnvelope(sealed.envelope).sender).not.toHaveProperty('chain');
  });

  it('server-sealed inbound mail uses the same code and is not signed', async () => {
    const s = await sealMail({ messageId: 'in-1', sender: { kind: 'external', address: 'x@example.org' }, pieces: [{ kind: 'body', plaintext: body }], to: [rk('bob')], random });
    const m = await openMail({ envelope: s.envelope, record: s.boxes[0]!.record, manifest: s.manifest, pieces: s.pieces as Uint8Array[], userId: 'bob', puk: puks.bob });
    expect(m.status).toBe('not-signed');
    expect(m.pieces[0]).toEqual(body);
    expect(m.envelope.sender).toEqual({ kind: 'external', address: 'x@example.org' });
  });

  it('notE2EE flag and pieces encrypted by the streaming API', async () => {
    const key = random(32);
    const enc = await createPieceEncryptor({ key, context: mailPieceContext('m-2', 0), random });
    const ct = new Uint8Array([...(await enc.push(body)), ...(await enc.final())]);
    const s = await sealMail({
      messageId: 'm-2',
      sender,
      pieces: [{ kind: 'body', encrypted: { kind: 'body', key, size: body.length, ciphertextHash: sha256(ct) } }],
      to: [rk('bob')],
      notE2EE: true,
      random,
    });
    expect(s.pieces[0]).toBeUndefined();
    const m = await openMail({ envelope: s.envelope, record: s.boxes[0]!.record, manifest: s.manifest, pieces: [ct], userId: 'bob', puk: puks.bob, expectedSenderSigningKeys: [sender.signingPublicKey] });
    expect(m.manifest.notE2EE).toBe(true);
    expect(m.pieces[0]).toEqual(body);
  });

  it('sealing with default randomness (native X25519 path) opens for every holder', async () => {
    const s = await sealMail({ messageId: 'm-n', sender, pieces: [{ kind: 'body', plaintext: body }], to: [rk('bob'), rk('carol')], senderCopy: rk('alice') });
    for (const b of s.boxes) {
      const u = b.userId as (typeof users)[number];
      const m = await openMail({ envelope: s.envelope, record: b.record, manifest: s.manifest, pieces: s.pieces as Uint8Array[], userId: u, puk: puks[u], expectedSenderSigningKeys: [sender.signingPublicKey] });
      expect(m.status).toBe('signed-valid');
      expect(m.pieces[0]).toEqual(body);
    }
  });

  it('rejects duplicate recipients', async () => {
    await expectCodeAsync(sealMail({ messageId: 'm', sender, pieces: [], to: [rk('bob')], bcc: [rk('bob')], random }), 'INVALID_INPUT');
  });
});

describe('tampering with a sealed mail fails with a typed error and no plaintext', () => {
  const env = sealed.envelope;
  const envRegions: [string, number][] = [
    ['message id', 4],
    ['sender user id', 2 + 2 + 4 + 1 + 2 + 1],
    ['sender signing key', env.length - 64 - (2 + 2 + 4 + 32) * 2 - 2 - 5],
    ['recipient list', env.length - 64 - 10],
    ['manifest hash', env.length - 40],
    ['BCC commitment', env.length - 1],
  ];
  it.each(envRegions)('envelope: %s', async (_n, i) => {
    await expectCodeAsync(open('bob', { envelope: flip(env, i) }), 'DECRYPTION_FAILED');
  });
  it('envelope: version and suite', async () => {
    await expectCodeAsync(open('bob', { envelope: flip(env, 0) }), 'UNSUPPORTED_VERSION');
    await expectCodeAsync(open('bob', { envelope: flip(env, 1) }), 'UNSUPPORTED_SUITE');
    await expectCodeAsync(open('bob', { envelope: env.subarray(0, env.length - 1) }), 'MALFORMED');
  });
  it('box record: relabelled role, other user, flipped box, truncated', async () => {
    const rec = decodeRecipientBox(recordOf('dave'));
    await expectCodeAsync(open('dave', { record: encodeRecipientBox({ ...rec, role: 'to' }) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('dave', { record: encodeRecipientBox({ ...rec, role: 'sender-copy' }) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { record: recordOf('carol') }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { record: encodeRecipientBox({ ...decodeRecipientBox(recordOf('carol')), userId: 'bob', generation: puks.bob.generation }) }), 'DECRYPTION_FAILED');
    const r = recordOf('bob');
    await expectCodeAsync(open('bob', { record: flip(r, r.length - 5) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { record: flip(r, r.length - 1200) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { record: r.subarray(0, r.length - 1) }), 'MALFORMED');
    await expectCodeAsync(open('bob', { record: flip(r, 0) }), 'UNSUPPORTED_VERSION');
  });
  it('wrong or older per-user key', async () => {
    await expectCodeAsync(open('bob', { puk: generatePerUserKey(puks.bob.generation, { random }) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { puk: generatePerUserKey(1, { random }) }), 'DECRYPTION_FAILED');
  });
  it('manifest and pieces: flipped, swapped, truncated, from another mail', async () => {
    await expectCodeAsync(open('bob', { manifest: flip(sealed.manifest, 70) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { pieces: [flip(pieces[0]!, 80), pieces[1]!] }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { pieces: [pieces[1]!, pieces[0]!] }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { pieces: [pieces[0]!] }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { pieces: [pieces[0]!, pieces[1]!.subarray(0, pieces[1]!.length - 1)] }), 'DECRYPTION_FAILED');
    const other = await sealMail({ messageId: 'm-9', sender, pieces: [{ kind: 'body', plaintext: body }], to: [rk('bob')], random });
    await expectCodeAsync(open('bob', { record: other.boxes[0]!.record }), 'DECRYPTION_FAILED');
    await expectCodeAsync(open('bob', { manifest: other.manifest }), 'DECRYPTION_FAILED');
  });
  it('a manifest that matches the hash but was made for another message id is rejected', async () => {
    const box = openRecipientBox({ envelope: env, record: recordOf('bob'), userId: 'bob', puk: puks.bob });
    await expectCodeAsync(openManifest({ envelope: { ...box.envelope, messageId: 'm-x' }, manifest: sealed.manifest, messageKey: box.messageKey }), 'DECRYPTION_FAILED');
  });
});

describe('password box (expiring link)', () => {
  const pb = createPasswordBox({ envelope: sealed.envelope, messageKey: sealed.messageKey, random });
  it('opens with password and digest from the fragment, then the mail decrypts', async () => {
    expect(pb.password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const { messageKey, envelope } = openPasswordBox({ envelope: sealed.envelope, box: pb.box, password: pb.password, digest: pb.digest });
    const manifest = await openManifest({ envelope, manifest: sealed.manifest, messageKey });
    expect(manifest.pieces).toHaveLength(2);
  });
  it('wrong password, wrong digest, tampered envelope or box fail', () => {
    const base = { envelope: sealed.envelope, box: pb.box, password: pb.password, digest: pb.digest };
    const other = createPasswordBox({ envelope: sealed.envelope, messageKey: sealed.messageKey, random }).password;
    expectCode(() => openPasswordBox({ ...base, password: other }), 'DECRYPTION_FAILED');
    expectCode(() => openPasswordBox({ ...base, digest: flip(pb.digest, 0) }), 'DECRYPTION_FAILED');
    expectCode(() => openPasswordBox({ ...base, envelope: flip(sealed.envelope, 40) }), 'DECRYPTION_FAILED');
    expectCode(() => openPasswordBox({ ...base, box: flip(pb.box, 10) }), 'DECRYPTION_FAILED');
    expectCode(() => openPasswordBox({ ...base, box: flip(pb.box, pb.box.length - 1) }), 'DECRYPTION_FAILED');
    expectCode(() => openPasswordBox({ ...base, box: pb.box.subarray(0, 60) }), 'DECRYPTION_FAILED');
    expectCode(() => openPasswordBox({ ...base, box: flip(pb.box, 0) }), 'UNSUPPORTED_VERSION');
    expectCode(() => openPasswordBox({ ...base, box: flip(pb.box, 1) }), 'UNSUPPORTED_SUITE');
    expectCode(() => openPasswordBox({ ...base, password: 'short' }), 'INVALID_INPUT');
  });
});

describe('server box (standard mail relay)', () => {
  const server = generateXWingKeyPair({ random });
  const box = createServerBox({ envelope: sealed.envelope, messageKey: sealed.messageKey, serverPublicKey: server.publicKey, random });
  it('opens on the server; tampering fails', () => {
    const base = { envelope: sealed.envelope, box, serverPublicKey: server.publicKey, serverSecretKey: server.secretKey };
    expect(openServerBox(base).messageKey).toEqual(sealed.messageKey);
    expectCode(() => openServerBox({ ...base, box: flip(box, 500) }), 'DECRYPTION_FAILED');
    expectCode(() => openServerBox({ ...base, envelope: flip(sealed.envelope, 30) }), 'DECRYPTION_FAILED');
    const other = generateXWingKeyPair({ random });
    expectCode(() => openServerBox({ ...base, serverPublicKey: other.publicKey, serverSecretKey: other.secretKey }), 'DECRYPTION_FAILED');
    // a server box is not a recipient box
    expectCode(() => openRecipientBox({ envelope: sealed.envelope, record: encodeRecipientBox({ role: 'to', userId: 'bob', generation: puks.bob.generation, box }), userId: 'bob', puk: puks.bob }), 'DECRYPTION_FAILED');
  });
});

describe('link-secret box (the password of an expiring link, held by the relay until the notice is out)', () => {
  const server = generateXWingKeyPair({ random });
  const { password } = createPasswordBox({ envelope: sealed.envelope, messageKey: sealed.messageKey, random });
  const box = sealLinkSecret({ serverPublicKey: server.publicKey, linkId: 'link-A', password, random });
  it('opens for its own link only; tampering, other keys and other links fail', () => {
    expect(box.length).toBe(BOX.overhead + 16);
    expect(openLinkSecret({ box, serverSecretKey: server.secretKey, linkId: 'link-A' })).toBe(password);
    expectCode(() => openLinkSecret({ box, serverSecretKey: server.secretKey, linkId: 'link-B' }), 'DECRYPTION_FAILED');
    expectCode(() => openLinkSecret({ box: flip(box, 1140), serverSecretKey: server.secretKey, linkId: 'link-A' }), 'DECRYPTION_FAILED');
    expectCode(() => openLinkSecret({ box, serverSecretKey: generateXWingKeyPair({ random }).secretKey, linkId: 'link-A' }), 'DECRYPTION_FAILED');
    expectCode(() => openLinkSecret({ box: Uint8Array.of(2, ...box.subarray(1)), serverSecretKey: server.secretKey, linkId: 'link-A' }), 'UNSUPPORTED_VERSION');
    // a server box of the same mail is not a link secret, and the other way round
    const serverBox = createServerBox({ envelope: sealed.envelope, messageKey: sealed.messageKey, serverPublicKey: server.publicKey, random });
    expectCode(() => openLinkSecret({ box: serverBox, serverSecretKey: server.secretKey, linkId: 'link-A' }), 'DECRYPTION_FAILED');
    expectCode(() => openServerBox({ envelope: sealed.envelope, box, serverPublicKey: server.publicKey, serverSecretKey: server.secretKey }), 'DECRYPTION_FAILED');
    expectCode(() => sealLinkSecret({ serverPublicKey: server.publicKey, linkId: 'x', password: 'c2hvcnQ' }), 'INVALID_INPUT');
  });
});

describe('round trips (fast-check)', () => {
  const idArb = fc.string({ minLength: 1, maxLength: 20 });
  it('envelope encode/decode', () => {
    fc.assert(
      fc.property(
        idArb,
        fc.oneof(
          fc.record({ kind: fc.constant('device' as const), userId: idArb, deviceId: idArb, signingPublicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
          fc.record({ kind: fc.constant('external' as const), address: idArb }),
        ),
        fc.array(fc.record({ userId: idArb, generation: fc.nat(), keyId: fc.uint8Array({ minLength: 32, maxLength: 32 }) }), { maxLength: 5 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (messageId, sender, recipients, manifestHash, bccCommitment) => {
          const e = { messageId, sender, recipients, manifestHash, bccCommitment };
          expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e);
        },
      ),
    );
  });
  it('manifest and box record encode/decode', () => {
    fc.assert(
      fc.property(
        idArb,
        fc.boolean(),
        fc.array(fc.record({ kind: fc.constantFrom('body' as const, 'attachment' as const), key: fc.uint8Array({ minLength: 32, maxLength: 32 }), size: fc.nat(), ciphertextHash: fc.uint8Array({ minLength: 32, maxLength: 32 }) }), { maxLength: 4 }),
        fc.constantFrom('to' as const, 'bcc' as const, 'sender-copy' as const, 'server' as const, 'password' as const),
        fc.uint8Array({ maxLength: 64 }),
        (messageId, notE2EE, ps, role, box) => {
          const m = { messageId, notE2EE, pieces: ps };
          expect(decodeManifest(encodeManifest(m))).toEqual(m);
          const r = { role, userId: messageId, generation: ps.length, box };
          expect(decodeRecipientBox(encodeRecipientBox(r))).toEqual(r);
        },
      ),
    );
  });
  it('seal/open for arbitrary pieces and recipient sets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 3 }),
        fc.subarray(['bob', 'carol', 'dave'] as const, { minLength: 1 }),
        fc.boolean(),
        async (pts, rcpts, signed) => {
          const s = await sealMail({
            messageId: 'prop',
            sender: signed ? sender : { kind: 'external', address: 'ext@example.org' },
            pieces: pts.map((plaintext) => ({ kind: 'attachment' as const, plaintext })),
            to: rcpts.slice(1).map(rk),
            bcc: rcpts.slice(0, 1).map(rk),
            senderCopy: signed ? rk('alice') : undefined,
            random,
          });
          for (const b of s.boxes) {
            const u = b.userId as (typeof users)[number];
            const m = await openMail({ envelope: s.envelope, record: b.record, manifest: s.manifest, pieces: s.pieces as Uint8Array[], userId: u, puk: puks[u], expectedSenderSigningKeys: [sender.signingPublicKey] });
            expect(m.status).toBe(signed ? 'signed-valid' : 'not-signed');
            expect(m.pieces).toEqual(pts);
          }
        },
      ),
      { numRuns: 8 },
    );
  }, 60_000);
});

/** Concatenates byte arrays. */
function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('streamed mail pieces', () => {
  const big = new Uint8Array(700_000).map((_, i) => (i * 7) & 0xff);
  async function sealStreamed(messageId: string) {
    const enc = await createMailPieceEncryptor({ messageId, index: 1, kind: 'attachment', random });
    const parts: Uint8Array[] = [];
    for (let at = 0; at < big.length; at += 100_000) parts.push(await enc.push(big.subarray(at, at + 100_000)));
    const { last, piece } = await enc.final();
    parts.push(last);
    const ciphertext = join(parts);
    const s = await sealMail({ messageId, sender, pieces: [{ kind: 'body', plaintext: body }, { kind: 'attachment', encrypted: piece }], to: [rk('bob')], random });
    const box = openRecipientBox({ envelope: s.envelope, record: s.boxes[0]!.record, userId: 'bob', puk: puks.bob, expectedSenderSigningKeys: [aliceDevice.signing.publicKey] });
    const manifest = await openManifest({ envelope: box.envelope, manifest: s.manifest, messageKey: box.messageKey });
    return { s, ciphertext, manifest };
  }
  const decryptAll = async (manifest: Awaited<ReturnType<typeof sealStreamed>>['manifest'], ct: Uint8Array, step = 65_000) => {
    const dec = createMailPieceDecryptor({ manifest, index: 1 });
    const out: Uint8Array[] = [];
    for (let at = 0; at < ct.length; at += step) out.push(await dec.push(ct.subarray(at, at + step)));
    out.push(await dec.final());
    return join(out);
  };

  it('an attachment sealed in a stream opens in a stream and with openMail', async () => {
    const { s, ciphertext, manifest } = await sealStreamed('stream-1@example.test');
    expect(manifest.pieces[1]!.size).toBe(big.length);
    expectBytes(manifest.pieces[1]!.ciphertextHash, sha256(ciphertext));
    expectBytes(await decryptAll(manifest, ciphertext), big);
    const opened = await openMail({ envelope: s.envelope, record: s.boxes[0]!.record, manifest: s.manifest, pieces: [s.pieces[0]!, ciphertext], userId: 'bob', puk: puks.bob, expectedSenderSigningKeys: [aliceDevice.signing.publicKey] });
    expectBytes(opened.pieces[1]!, big);
    expect(opened.status).toBe('signed-valid');
  });

  it('a tampered, truncated or swapped stream fails, at the latest at final()', async () => {
    const { ciphertext, manifest } = await sealStreamed('stream-2@example.test');
    await expectCodeAsync(decryptAll(manifest, flip(ciphertext, 300_000)), 'DECRYPTION_FAILED');
    await expectCodeAsync(decryptAll(manifest, ciphertext.subarray(0, ciphertext.length - 262_160)), 'DECRYPTION_FAILED');
    const other = await sealStreamed('stream-3@example.test');
    await expectCodeAsync(decryptAll(manifest, other.ciphertext), 'DECRYPTION_FAILED');
    expectCode(() => createMailPieceDecryptor({ manifest, index: 5 }), 'INVALID_INPUT');
  });

  // Browsers hash a streamed piece once over its whole ciphertext with WebCrypto's digest (no
  // incremental form there); Node hashes as it goes. Every way gives the same manifest hash, and
  // every way still refuses a ciphertext the manifest does not name.
  const modes: Hashing[] = ['incremental', 'pure-js', 'whole'];
  async function sealWith(hashing: Hashing, output: boolean) {
    const buf = output ? new Uint8Array(pieceCiphertextLength(big.length) + 5) : undefined;
    const enc = await createMailPieceEncryptor({ messageId: 'modes@example.test', index: 1, kind: 'attachment', random: seededRandom('modes'), hashing, ...(buf ? { output: buf } : {}) });
    const parts: Uint8Array[] = [];
    for (let at = 0; at < big.length; at += 90_000) parts.push(Uint8Array.from(await enc.push(big.subarray(at, at + 90_000))));
    const { last, piece } = await enc.final();
    parts.push(Uint8Array.from(last));
    return { ciphertext: join(parts), piece };
  }
  const manifestOf = (piece: Manifest['pieces'][number], over: Partial<Manifest['pieces'][number]> = {}): Manifest =>
    ({ messageId: 'modes@example.test', notE2EE: false, pieces: [{ kind: 'body', key: new Uint8Array(32), size: 0, ciphertextHash: new Uint8Array(32) }, { ...piece, ...over }] }) as Manifest;
  const openWith = async (manifest: Manifest, ct: Uint8Array, hashing: Hashing, output = false) => {
    const dec = createMailPieceDecryptor({ manifest, index: 1, hashing, ...(output ? { output: new Uint8Array(big.length) } : {}) });
    const out: Uint8Array[] = [];
    for (let at = 0; at < ct.length; at += 77_777) out.push(Uint8Array.from(await dec.push(ct.subarray(at, at + 77_777))));
    out.push(Uint8Array.from(await dec.final()));
    return join(out);
  };

  it('sealing hashes the same with each way of hashing, into an output buffer or not', async () => {
    const reference = await sealWith('pure-js', false);
    expectBytes(reference.piece.ciphertextHash, sha256(reference.ciphertext));
    for (const hashing of modes) {
      for (const output of [false, true]) {
        const { ciphertext, piece } = await sealWith(hashing, output);
        expectBytes(ciphertext, reference.ciphertext); // same seeded randomness, same bytes
        expectBytes(piece.ciphertextHash, reference.piece.ciphertextHash);
      }
    }
  });

  it('end() then piece() is final() in two steps, in each way of hashing; out of order, it refuses', async () => {
    for (const hashing of modes) {
      for (const output of [false, true]) {
        const reference = await sealWith(hashing, output);
        const buf = output ? new Uint8Array(pieceCiphertextLength(big.length)) : undefined;
        const enc = await createMailPieceEncryptor({ messageId: 'modes@example.test', index: 1, kind: 'attachment', random: seededRandom('modes'), hashing, ...(buf ? { output: buf } : {}) });
        const parts: Uint8Array[] = [];
        for (let at = 0; at < big.length; at += 90_000) parts.push(Uint8Array.from(await enc.push(big.subarray(at, at + 90_000))));
        await expectCodeAsync(enc.piece(), 'INVALID_INPUT'); // the ciphertext is not complete yet
        parts.push(Uint8Array.from(await enc.end()));
        await expectCodeAsync(enc.push(big.subarray(0, 10)), 'INVALID_INPUT');
        await expectCodeAsync(enc.end(), 'INVALID_INPUT');
        const piece = await enc.piece();
        expectBytes(join(parts), reference.ciphertext);
        expectBytes(piece.ciphertextHash, reference.piece.ciphertextHash);
        expectBytes(piece.ciphertextHash, sha256(join(parts)));
        expect(piece.size).toBe(big.length);
        await expectCodeAsync(enc.piece(), 'INVALID_INPUT'); // answered once
      }
    }
  });

  it('opening checks the manifest hash with each way of hashing: a wrong hash, a short or long ciphertext fail', async () => {
    const { ciphertext, piece } = await sealWith('whole', true);
    const manifest = manifestOf(piece);
    const wrongHash = manifestOf(piece, { ciphertextHash: flip(piece.ciphertextHash, 3) });
    for (const hashing of modes) {
      for (const output of [false, true]) expectBytes(await openWith(manifest, ciphertext, hashing, output), big);
      // Every chunk authenticates (same key): only the hash tells this ciphertext is not the one named.
      await expectCodeAsync(openWith(wrongHash, ciphertext, hashing), 'DECRYPTION_FAILED');
      await expectCodeAsync(openWith(manifest, ciphertext.subarray(0, ciphertext.length - 1), hashing), 'DECRYPTION_FAILED');
      await expectCodeAsync(openWith(manifest, join([ciphertext, new Uint8Array([0])]), hashing), 'DECRYPTION_FAILED');
    }
  });

  it('a manifest naming a huge piece does not make the reader allocate it', async () => {
    const { ciphertext, piece } = await sealWith('incremental', false);
    const huge = manifestOf(piece, { size: 2 ** 45 });
    await expectCodeAsync(openWith(huge, ciphertext, 'whole'), 'DECRYPTION_FAILED');
  });
});
