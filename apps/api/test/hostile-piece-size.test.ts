/**
 * A colleague's manifest names an attachment far larger than its ciphertext (the size is the
 * sender's word, signed by them but not checked by anyone before the download): the reader must
 * not allocate what it names, and the download ends in a clear OPEN_FAILED, not a RangeError or an
 * out-of-memory crash of the key worker. Through the real client and API on a real Postgres; the
 * colleague seals with the crypto package the way a custom client could.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMime, Mailer, type Identity } from '@sealmail/client/identity';
import { createMailPieceEncryptor, currentPuk, pieceCiphertextLength, sealMail, toBase64Url } from '@sealmail/crypto';
import { harness, type Harness } from './helpers';

let h: Harness;
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';

beforeAll(async () => {
  h = await harness();
}, 60_000);
afterAll(() => h?.close());

/** Bob's mail to Admin with one attachment whose manifest entry says `claimedSize` bytes; its real plaintext is `real`. */
async function mailWithClaimedSize(bob: { api: Awaited<ReturnType<Harness['deviceSignIn']>>['api']; identity: Identity }, real: Uint8Array, claimedSize: number, subject: string) {
  const me = await bob.identity.thisDevice(BOB);
  const key = (c: { userId: string; state: Awaited<ReturnType<Identity['verifiedChain']>>['state'] }) => {
    const puk = currentPuk(c.state!);
    return { userId: c.userId, generation: puk.generation, publicKeys: puk.keys };
  };
  const messageId = `${crypto.randomUUID()}@example.test`;
  const sealedPiece = new Uint8Array(pieceCiphertextLength(real.length));
  const enc = await createMailPieceEncryptor({ messageId, index: 1, kind: 'attachment', output: sealedPiece });
  await enc.push(real);
  const { piece } = await enc.final();
  const { blobId } = await bob.api.createBlob(sealedPiece.length);
  await bob.api.uploadPart(blobId, 0, sealedPiece);
  await bob.api.completeBlob(blobId);
  const mime = buildMime({
    from: { name: '', address: BOB },
    to: [ADMIN],
    cc: [],
    subject,
    text: 'see the file',
    date: new Date(),
    messageId: `<${messageId}>`,
    references: [],
    attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', size: claimedSize }],
  });
  const sealed = await sealMail({
    messageId,
    sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, chain: { length: me.state.length, head: me.state.headHash } },
    pieces: [{ kind: 'body', plaintext: mime }, { kind: 'attachment', encrypted: { ...piece, size: claimedSize } }],
    to: [key(await bob.identity.verifiedChain(ADMIN))],
    senderCopy: key(me),
  });
  const boxes = sealed.boxes.map((b) => ({ address: b.role === 'sender-copy' ? BOB : ADMIN, record: toBase64Url(b.record) }));
  await bob.api.sendMail({ draft: false, envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), body: toBase64Url(sealed.pieces[0]!), attachments: [blobId], to: [ADMIN], cc: [], bcc: [], boxes });
}

describe('an attachment size a colleague lies about', () => {
  it('a terabyte claimed for a small file: nothing of that size is allocated, the download fails with OPEN_FAILED', async () => {
    const bob = await h.deviceSignIn(BOB);
    const adminDevice = await h.deviceSignIn(ADMIN);
    const admin = { mailer: new Mailer(adminDevice.api, adminDevice.identity, ADMIN) };
    const real = new Uint8Array(5000).fill(7);
    for (const [claimed, subject] of [
      [2 ** 40, 'a terabyte'],
      [real.length + 1, 'one byte more'],
    ] as const) {
      await mailWithClaimedSize(bob, real, claimed, subject);
      const listed = (await admin.mailer.list({ folder: 'inbox', limit: 10 })).items.find((i) => 'subject' in i && i.subject === subject);
      if (!listed || 'error' in listed) throw new Error('the mail did not arrive');
      const opened = await admin.mailer.open(listed.entryId);
      expect(opened.attachments[0]?.size).toBe(claimed); // shown as the sender's claim
      await expect(admin.mailer.attachmentBytes(opened, 1)).rejects.toMatchObject({ code: 'OPEN_FAILED' });
    }
  });
});
