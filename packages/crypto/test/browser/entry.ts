/**
 * Runs inside Chromium (bundled by test/browser.test.ts): the package must work unchanged in a
 * browser — WebCrypto AES-GCM, TextEncoder, Web Streams, no Node APIs.
 */
import hpkeVector from '../vectors/rfc9180-a2-base.json';
import xwingVectors from '../vectors/xwing-draft.json';
import {
  CryptoError,
  decryptPiece,
  dhkemX25519,
  encryptPiece,
  fromHex,
  generateBackupKey,
  generateDeviceKeys,
  generatePerUserKey,
  hpkeOpen,
  openMail,
  parseBackupKey,
  pieceDecryptionStream,
  pieceEncryptionStream,
  publicKeysOf,
  sealMail,
  toHex,
  xwingEncapsulate,
  xwingKeyPairFromSeed,
} from '../../src/index';

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

async function run(): Promise<Record<string, boolean | string>> {
  const out: Record<string, boolean | string> = {};
  out.secureContext = globalThis.isSecureContext;
  out.noNode = typeof (globalThis as { process?: unknown }).process === 'undefined' && typeof (globalThis as { Buffer?: unknown }).Buffer === 'undefined';
  const e0 = hpkeVector.encryptions[0]!;
  out.hpkeVector = toHex(hpkeOpen(dhkemX25519, fromHex(hpkeVector.enc), fromHex(hpkeVector.skRm), fromHex(hpkeVector.info), fromHex(e0.aad), fromHex(e0.ct))) === e0.pt;
  const xv = xwingVectors[0]!;
  const kp = xwingKeyPairFromSeed(fromHex(xv.seed));
  out.xwingVector = toHex(xwingEncapsulate(kp.publicKey, { eseed: fromHex(xv.eseed) }).sharedSecret) === xv.ss;

  const key = crypto.getRandomValues(new Uint8Array(32));
  const context = new TextEncoder().encode('browser/piece');
  const pt = crypto.getRandomValues(new Uint8Array(65536)).slice();
  const big = new Uint8Array(600_000).map((_, i) => (i * 31) & 0xff);
  big.set(pt, 0);
  const salt = () => new Uint8Array(32).fill(9);
  const w = await encryptPiece({ key, context, plaintext: big, backend: 'webcrypto', random: salt });
  const n = await encryptPiece({ key, context, plaintext: big, backend: 'noble', random: salt });
  out.backendsIdentical = eq(w, n);
  out.pieceRoundTrip = eq(await decryptPiece({ key, context, ciphertext: w, backend: 'webcrypto' }), big);
  const bad = Uint8Array.from(w);
  bad[bad.length - 3]! ^= 1;
  try {
    await decryptPiece({ key, context, ciphertext: bad });
    out.tamperRejected = false;
  } catch (e) {
    out.tamperRejected = e instanceof CryptoError && e.code === 'DECRYPTION_FAILED';
  }
  const stream = new Blob([big]).stream().pipeThrough(pieceEncryptionStream({ key, context })).pipeThrough(pieceDecryptionStream({ key, context }));
  out.webStreams = eq(new Uint8Array(await new Response(stream).arrayBuffer()), big);

  const dev = generateDeviceKeys();
  const bob = generatePerUserKey(1);
  const sealed = await sealMail({
    messageId: 'b-1',
    sender: { kind: 'device', userId: 'alice', deviceId: 'd', signingSecretKey: dev.signing.secretKey, signingPublicKey: dev.signing.publicKey },
    pieces: [{ kind: 'body', plaintext: new TextEncoder().encode('hello from the browser') }],
    to: [{ userId: 'bob', generation: 1, publicKeys: publicKeysOf(bob) }],
  });
  const opened = await openMail({ envelope: sealed.envelope, record: sealed.boxes[0]!.record, manifest: sealed.manifest, pieces: sealed.pieces as Uint8Array[], userId: 'bob', puk: bob, expectedSenderSigningKeys: [dev.signing.publicKey] });
  out.mail = opened.status === 'signed-valid' && new TextDecoder().decode(opened.pieces[0]) === 'hello from the browser';
  const bk = generateBackupKey();
  out.backupKey = eq(parseBackupKey(bk.text), bk.secret);
  return out;
}

(globalThis as { __sealmailCryptoSmoke?: () => Promise<unknown> }).__sealmailCryptoSmoke = () =>
  run().catch((e: unknown) => ({ error: String((e as Error)?.stack ?? e) }));
