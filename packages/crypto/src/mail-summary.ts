/**
 * The sealed summary of a mail — docs/crypto.md §5.15: what a mail list shows (subject, sender
 * name and address as sealed, a snippet of the text, how many attachments, the Sealmail header
 * fields the reader's label depends on), sealed under its own key that the manifest lists with
 * its ciphertext hash. A holder opens it with the box and the manifest alone, without the body;
 * since the manifest's hash is in the envelope, which every holder's digest and the sender's
 * signature cover, a server cannot swap, alter or make up a summary.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { ByteReader, ByteWriter, readHeader } from './encoding';
import { abytes, astring, decryptionFailed, equalBytes, randomBytes, type RandomSource } from './_util';
import { decryptPiece, encryptPiece, type AeadBackend } from './aead-stream';
import type { Manifest, ManifestSummary } from './mail-format';

/** Version, suite and limits of a summary's plaintext (docs/crypto.md §5.15). */
export const MAIL_SUMMARY = Object.freeze({
  version: 0x01,
  /** Suite 0x01 = piece AEAD suite 0x01 (§5.2), SHA-256 in the manifest. */
  suite: 0x01,
  /** Longest subject kept, in UTF-8 bytes (cut at a character boundary). */
  subjectBytes: 1024,
  /** Longest snippet kept, in UTF-8 bytes. */
  snippetBytes: 512,
  /** Longest sender name and address, in UTF-8 bytes. */
  nameBytes: 512,
  /** Sealed header fields kept, and the longest value of one. */
  headers: 8,
  headerBytes: 1024,
});

/** What a summary holds. */
export interface MailSummaryFields {
  readonly subject: string;
  /** The sealed `From:` as its sealer wrote it (the reader still checks it against the signer). */
  readonly fromName: string;
  readonly fromAddress: string;
  /** The start of the text, whitespace collapsed. */
  readonly snippet: string;
  readonly attachments: number;
  /** The `x-sealmail-*` header fields of the body the reader's label depends on (lower-case names). */
  readonly sealedHeaders: readonly (readonly [string, string])[];
}

/**
 * Cuts a string to at most `max` UTF-8 bytes without splitting a character. The bytes are counted
 * from the UTF-16 code units (a lone surrogate as U+FFFD's three, as TextEncoder writes it), not
 * encoded one character at a time: the ingress cuts every message's snippet with it.
 */
export function cutUtf8(s: string, max: number): string {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const len = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + len > max) return s.slice(0, i);
    n += len;
    if (pair) i++;
  }
  return s;
}

/** Context of a summary's ciphertext: `str("mail-summary") | str(messageId)`. */
export function mailSummaryContext(messageId: string): Uint8Array {
  return new ByteWriter().str('mail-summary').str(astring(messageId, 'messageId')).finish();
}

/**
 * Encodes a summary (long fields are cut to the limits of {@link MAIL_SUMMARY}).
 * @throws {CryptoError} INVALID_INPUT on a bad message id or attachment count.
 */
export function encodeMailSummary(messageId: string, s: MailSummaryFields): Uint8Array {
  if (!Number.isSafeInteger(s.attachments) || s.attachments < 0 || s.attachments > 0xffff) throw new CryptoError('INVALID_INPUT', '"attachments" expected an integer in [0, 65535]');
  const headers = s.sealedHeaders.slice(0, MAIL_SUMMARY.headers);
  const w = new ByteWriter()
    .u8(MAIL_SUMMARY.version)
    .u8(MAIL_SUMMARY.suite)
    .str(astring(messageId, 'messageId'))
    .str(cutUtf8(s.subject, MAIL_SUMMARY.subjectBytes))
    .str(cutUtf8(s.fromName, MAIL_SUMMARY.nameBytes))
    .str(cutUtf8(s.fromAddress, MAIL_SUMMARY.nameBytes))
    .str(cutUtf8(s.snippet, MAIL_SUMMARY.snippetBytes))
    .u16(s.attachments)
    .u8(headers.length);
  for (const [name, value] of headers) w.str(cutUtf8(name, 64)).str(cutUtf8(value, MAIL_SUMMARY.headerBytes));
  return w.finish();
}

/**
 * Decodes a summary.
 * @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED.
 */
export function decodeMailSummary(bytes: Uint8Array): MailSummaryFields & { readonly messageId: string } {
  const r = new ByteReader(abytes(bytes, 'summary'));
  readHeader(r, MAIL_SUMMARY.version, [MAIL_SUMMARY.suite], 'summary');
  const messageId = r.str();
  const subject = r.str();
  const fromName = r.str();
  const fromAddress = r.str();
  const snippet = r.str();
  const attachments = r.u16();
  const n = r.u8();
  if (n > MAIL_SUMMARY.headers) throw new CryptoError('MALFORMED', 'summary: too many header fields');
  const sealedHeaders: (readonly [string, string])[] = [];
  for (let i = 0; i < n; i++) sealedHeaders.push([r.str(), r.str()]);
  r.end();
  return { messageId, subject, fromName, fromAddress, snippet, attachments, sealedHeaders };
}

/**
 * Seals a summary under a fresh key (piece AEAD, context {@link mailSummaryContext}); the
 * manifest entry goes into {@link sealMail}'s manifest.
 * @throws {CryptoError} INVALID_INPUT.
 */
export async function sealMailSummary(opts: { messageId: string; summary: MailSummaryFields; random?: RandomSource; backend?: AeadBackend }): Promise<{ ciphertext: Uint8Array; entry: ManifestSummary }> {
  const plaintext = encodeMailSummary(opts.messageId, opts.summary);
  const key = randomBytes(opts.random, 32);
  const ciphertext = await encryptPiece({ key, context: mailSummaryContext(opts.messageId), plaintext, random: opts.random, backend: opts.backend });
  const entry = { key, size: plaintext.length, ciphertextHash: sha256(ciphertext) };
  plaintext.fill(0);
  return { ciphertext, entry };
}

/**
 * Opens a mail's summary with its opened manifest (docs/crypto.md §5.15): the ciphertext must
 * have the hash the manifest lists, decrypt under the listed key and context, have the listed
 * size and name the manifest's message id.
 * @throws {CryptoError} DECRYPTION_FAILED (no summary in the manifest, swapped or altered
 * summary), MALFORMED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE.
 */
export async function openMailSummary(opts: { manifest: Manifest; ciphertext: Uint8Array; backend?: AeadBackend }): Promise<MailSummaryFields> {
  const entry = opts.manifest.summary;
  if (!entry || !equalBytes(sha256(abytes(opts.ciphertext, 'ciphertext')), entry.ciphertextHash)) throw decryptionFailed();
  const pt = await decryptPiece({ key: entry.key, context: mailSummaryContext(opts.manifest.messageId), ciphertext: opts.ciphertext, backend: opts.backend });
  if (pt.length !== entry.size) throw decryptionFailed();
  const s = decodeMailSummary(pt);
  pt.fill(0);
  if (s.messageId !== opts.manifest.messageId) throw decryptionFailed();
  const { messageId: _, ...fields } = s;
  return fields;
}
