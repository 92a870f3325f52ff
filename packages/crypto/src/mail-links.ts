/**
 * Password boxes (expiring links) and server boxes (standard mail relay) — docs/crypto.md §7.3–§7.4.
 *
 * Password box: the client samples a 128-bit random password; the box key is
 * `HKDF-SHA256(ikm = password, salt = digest, info = "sealmail/v1/mail/password-box", 32)` where
 * `digest` is the password holder's recipient-associated digest; the message key is encrypted
 * with XChaCha20-Poly1305 (random 24-byte nonce, aad = header | digest):
 *   password box = 0x01 | 0x01 | nonce[24] | ciphertext[32 + 16]
 * No slow password hash is needed: the password is uniformly random, never chosen by a person.
 * The link fragment carries password and digest; the viewer recomputes the digest from the
 * envelope and refuses a mismatch before trying the password.
 *
 * Server box: a box (§5.1, purpose "mail-server") of the message key to the server's X-Wing key,
 * with the server holder's digest as context.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { fromBase64Url, toBase64Url } from './encoding';
import { abytes, concat, decryptionFailed, equalBytes, randomBytes, utf8, type RandomSource } from './_util';
import { openBox, sealBox } from './box';
import { decodeEnvelope, recipientDigest, type BoxHolder, type MailEnvelope } from './mail-format';
import { XWING } from './xwing';

/** Format constants of the password box (docs/crypto.md §7.3). */
export const PASSWORD_BOX = Object.freeze({ version: 0x01, suiteHkdfXChaCha20Poly1305: 0x01, length: 2 + 24 + 48, passwordBytes: 16 });

const PASSWORD_HOLDER = (): BoxHolder => ({ role: 'password', userId: 'password', generation: 0, keyId: new Uint8Array(32) });

/**
 * The server key id bound into server-box digests: SHA-256("sealmail/v1/server-key-id" 0x00 | pk).
 * @throws {CryptoError} INVALID_INPUT when `serverPublicKey` is not a 1216-byte X-Wing key.
 */
export function serverKeyId(serverPublicKey: Uint8Array): Uint8Array {
  return sha256(concat(utf8('sealmail/v1/server-key-id\0'), abytes(serverPublicKey, 'serverPublicKey', XWING.publicKey)));
}

/** The recipient-associated digest of a mail's password box (it goes into the link fragment). @throws {CryptoError} INVALID_INPUT. */
export function passwordDigest(envelope: Uint8Array): Uint8Array {
  return recipientDigest(envelope, PASSWORD_HOLDER());
}

function passwordKey(password: Uint8Array, digest: Uint8Array): Uint8Array {
  return expand(sha256, extract(sha256, password, digest), utf8('sealmail/v1/mail/password-box'), 32);
}

/**
 * Creates a password box for a sealed mail: a fresh 128-bit password (base64url, 22 characters),
 * the box, and the digest for the link fragment.
 * @throws {CryptoError} INVALID_INPUT on a malformed message key or envelope.
 */
export function createPasswordBox(opts: { envelope: Uint8Array; messageKey: Uint8Array; random?: RandomSource }): {
  password: string;
  digest: Uint8Array;
  box: Uint8Array;
} {
  abytes(opts.messageKey, 'messageKey', 32);
  const pw = randomBytes(opts.random, PASSWORD_BOX.passwordBytes);
  const digest = passwordDigest(opts.envelope);
  const header = new Uint8Array([PASSWORD_BOX.version, PASSWORD_BOX.suiteHkdfXChaCha20Poly1305]);
  const nonce = randomBytes(opts.random, 24);
  const key = passwordKey(pw, digest);
  const ct = xchacha20poly1305(key, nonce, concat(header, digest)).encrypt(opts.messageKey);
  key.fill(0);
  return { password: toBase64Url(pw), digest, box: concat(header, nonce, ct) };
}

/**
 * Opens a password box in the viewer. `digest` comes from the link fragment and must equal the
 * digest recomputed from the envelope the server delivered.
 * @throws {CryptoError} DECRYPTION_FAILED (wrong password, digest mismatch, tampering),
 * UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT (malformed password), MALFORMED.
 */
export function openPasswordBox(opts: { envelope: Uint8Array; box: Uint8Array; password: string; digest: Uint8Array }): {
  messageKey: Uint8Array;
  envelope: MailEnvelope;
} {
  const box = abytes(opts.box, 'box');
  if (box.length < 2) throw new CryptoError('MALFORMED', 'password box: truncated');
  if (box[0] !== PASSWORD_BOX.version) throw new CryptoError('UNSUPPORTED_VERSION', `password box: unsupported version ${box[0]}`);
  if (box[1] !== PASSWORD_BOX.suiteHkdfXChaCha20Poly1305) throw new CryptoError('UNSUPPORTED_SUITE', `password box: unsupported suite ${box[1]}`);
  const pw = fromBase64Url(opts.password);
  if (pw.length !== PASSWORD_BOX.passwordBytes) throw new CryptoError('INVALID_INPUT', `"password" expected ${PASSWORD_BOX.passwordBytes} bytes, got ${pw.length}`);
  const envelope = decodeEnvelope(opts.envelope);
  const digest = passwordDigest(opts.envelope);
  if (!equalBytes(digest, abytes(opts.digest, 'digest', 32))) throw decryptionFailed();
  if (box.length !== PASSWORD_BOX.length) throw decryptionFailed();
  const key = passwordKey(pw, digest);
  try {
    return { messageKey: xchacha20poly1305(key, box.subarray(2, 26), concat(box.subarray(0, 2), digest)).decrypt(box.subarray(26)), envelope };
  } catch {
    throw decryptionFailed();
  } finally {
    key.fill(0);
  }
}

const serverHolder = (pk: Uint8Array): BoxHolder => ({ role: 'server', userId: 'server', generation: 0, keyId: serverKeyId(pk) });

/**
 * Boxes the message key to the server's X-Wing key, for mail the server must read to relay it
 * as standard mail (the manifest should then carry `notE2EE`).
 * @throws {CryptoError} INVALID_INPUT on a malformed key or envelope.
 */
export function createServerBox(opts: { envelope: Uint8Array; messageKey: Uint8Array; serverPublicKey: Uint8Array; random?: RandomSource }): Uint8Array {
  const digest = recipientDigest(opts.envelope, serverHolder(opts.serverPublicKey));
  return sealBox({ recipientPublicKey: opts.serverPublicKey, purpose: 'mail-server', context: digest, plaintext: abytes(opts.messageKey, 'messageKey', 32), random: opts.random });
}

/**
 * Opens a server box with the server's X-Wing key pair.
 * @throws {CryptoError} DECRYPTION_FAILED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED, INVALID_INPUT.
 */
export function openServerBox(opts: { envelope: Uint8Array; box: Uint8Array; serverPublicKey: Uint8Array; serverSecretKey: Uint8Array }): {
  messageKey: Uint8Array;
  envelope: MailEnvelope;
} {
  const envelope = decodeEnvelope(opts.envelope);
  const digest = recipientDigest(opts.envelope, serverHolder(opts.serverPublicKey));
  const messageKey = openBox({ box: opts.box, recipientSecretKey: opts.serverSecretKey, purpose: 'mail-server', context: digest });
  if (messageKey.length !== 32) throw decryptionFailed();
  return { messageKey, envelope };
}

/** The context of a link-secret box: `"sealmail/v1/link-secret" 0x00 | link id (ASCII)`. */
const linkSecretContext = (linkId: string) => concat(utf8('sealmail/v1/link-secret\0'), utf8(linkId));

/**
 * Boxes an expiring link's password to the server's X-Wing key (docs/crypto.md §7.3): the relay
 * needs it once, to write the link into the notice it mails, and must not keep it readable at
 * rest meanwhile. Bound to the link id, so a box cannot be moved to another link.
 * @throws {CryptoError} INVALID_INPUT on a malformed key, link id or password.
 */
export function sealLinkSecret(opts: { serverPublicKey: Uint8Array; linkId: string; password: string; random?: RandomSource }): Uint8Array {
  const pw = fromBase64Url(opts.password);
  if (pw.length !== PASSWORD_BOX.passwordBytes) throw new CryptoError('INVALID_INPUT', `"password" expected ${PASSWORD_BOX.passwordBytes} bytes, got ${pw.length}`);
  return sealBox({ recipientPublicKey: opts.serverPublicKey, purpose: 'link-secret', context: linkSecretContext(opts.linkId), plaintext: pw, random: opts.random });
}

/**
 * Opens a link-secret box with the server's X-Wing secret key; answers the password (base64url).
 * @throws {CryptoError} DECRYPTION_FAILED (wrong key or link id, tampering), UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED.
 */
export function openLinkSecret(opts: { box: Uint8Array; serverSecretKey: Uint8Array; linkId: string }): string {
  const pw = openBox({ box: opts.box, recipientSecretKey: opts.serverSecretKey, purpose: 'link-secret', context: linkSecretContext(opts.linkId) });
  if (pw.length !== PASSWORD_BOX.passwordBytes) throw decryptionFailed();
  const out = toBase64Url(pw);
  pw.fill(0);
  return out;
}
