/**
 * Runs inside Chromium (bundled by test/browser.test.ts): the package must work unchanged in a
 * browser — WebCrypto AES-GCM, TextEncoder, Web Streams, no Node APIs.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import hpkeVector from '../vectors/rfc9180-a2-base.json';
import xwingVectors from '../vectors/xwing-draft.json';
import {
  CryptoError,
  createMailPieceDecryptor,
  createMailPieceEncryptor,
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
  pieceCiphertextLength,
  pieceDecryptionStream,
  pieceEncryptionStream,
  publicKeysOf,
  sealMail,
  type Manifest,
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
  // A streamed attachment (as the key worker uploads and downloads one): hashed once over the
  // whole ciphertext with WebCrypto's digest here, the same hash as the pure-JS one; opening
  // checks it, and refuses a manifest that names another hash.
  const att = big.subarray(0, 500_000);
  const digested: number[] = []; // WebCrypto digests by size: the mechanism, not only the result
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  crypto.subtle.digest = (alg: AlgorithmIdentifier, data: BufferSource) => (digested.push(data.byteLength), digest(alg, data));
  const ctBuf = new Uint8Array(pieceCiphertextLength(att.length));
  const enc = await createMailPieceEncryptor({ messageId: 'w-1', index: 1, kind: 'attachment', output: ctBuf });
  for (let at = 0; at < att.length; at += 120_000) await enc.push(att.subarray(at, at + 120_000));
  const { piece } = await enc.final();
  const manifestWith = (hash: Uint8Array) => ({ messageId: 'w-1', notE2EE: false, pieces: [piece, { ...piece, ciphertextHash: hash }] }) as unknown as Manifest;
  const openStreamed = async (m: Manifest) => {
    const dec = createMailPieceDecryptor({ manifest: m, index: 1, output: new Uint8Array(att.length) });
    const outs: Uint8Array[] = [];
    for (let at = 0; at < ctBuf.length; at += 100_000) outs.push(Uint8Array.from(await dec.push(ctBuf.slice(at, at + 100_000))));
    outs.push(Uint8Array.from(await dec.final()));
    return outs;
  };
  const opened1 = await openStreamed(manifestWith(piece.ciphertextHash));
  const wrong = Uint8Array.from(piece.ciphertextHash);
  wrong[0]! ^= 1;
  let wrongRejected = false;
  try {
    await openStreamed(manifestWith(wrong));
  } catch (e) {
    wrongRejected = e instanceof CryptoError && e.code === 'DECRYPTION_FAILED';
  }
  const joined = new Uint8Array(opened1.reduce((n, c) => n + c.length, 0));
  opened1.reduce((at, c) => (joined.set(c, at), at + c.length), 0);
  crypto.subtle.digest = digest;
  // Sealed once, opened twice: each hashed its whole ciphertext in one WebCrypto digest.
  out.wholeHash = eq(piece.ciphertextHash, sha256(ctBuf)) && eq(joined, att) && wrongRejected && digested.filter((n) => n === ctBuf.length).length === 3;
  const bk = generateBackupKey();
  out.backupKey = eq(parseBackupKey(bk.text), bk.secret);
  return out;
}

(globalThis as { __sealmailCryptoSmoke?: () => Promise<unknown> }).__sealmailCryptoSmoke = () =>
  run().catch((e: unknown) => ({ error: String((e as Error)?.stack ?? e) }));
