/**
 * Byte formats of a sealed mail: envelope, manifest, recipient box record, digests —
 * docs/crypto.md §5.7–§5.10. Encoding and decoding only; sealing lives in mail-seal.ts.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { ByteReader, ByteWriter, readHeader } from './encoding';
import { abytes, aint, astring, concat, utf8 } from './_util';

/** Version and suite of every mail format (docs/crypto.md §5.7). Suite 0x01 = piece AEAD suite 0x01, box suite 0x01, SHA-256, Ed25519. */
export const MAIL = Object.freeze({ version: 0x01, suite: 0x01 });

/** Who sent a mail: a user's device (signed) or an external address sealed by the server (unsigned). */
export type MailSender =
  | {
      readonly kind: 'device';
      readonly userId: string;
      readonly deviceId: string;
      readonly signingPublicKey: Uint8Array;
      /**
       * The sender's own key history as the sending device saw it: its length and head hash
       * (sender kind 3, docs/crypto.md §5.7). Absent only in mail sealed before positions were
       * recorded (kind 1), which readers hold to stricter rules.
       */
      readonly chain?: ChainPosition;
      /**
       * Sent as a delegate of another mailbox (sender kind 4, docs/crypto.md §5.7): the mailbox's
       * user id and its key history's position as the sending device verified it — where the
       * reader must find a grant with send-as to this sender (docs/sigchain.md §3.2).
       */
      readonly onBehalfOf?: { readonly userId: string } & ChainPosition;
    }
  | { readonly kind: 'external'; readonly address: string };

/** A position in a key history: the chain had `length` links and `head` is the last one's hash. */
export interface ChainPosition {
  readonly length: number;
  readonly head: Uint8Array;
}

/** A visible (To/CC) participant as bound into the digest: user id, PUK generation, PUK key id. */
export interface MailParticipant {
  readonly userId: string;
  readonly generation: number;
  readonly keyId: Uint8Array;
}

/** The plaintext-to-the-server header of a mail (docs/crypto.md §5.7). */
export interface MailEnvelope {
  readonly messageId: string;
  readonly sender: MailSender;
  readonly recipients: readonly MailParticipant[];
  readonly manifestHash: Uint8Array;
  readonly bccCommitment: Uint8Array;
}

/** Role of a box holder; bound into its digest so a box cannot be relabelled. */
export type BoxRole = 'to' | 'bcc' | 'sender-copy' | 'server' | 'password';
const ROLES: readonly BoxRole[] = ['to', 'bcc', 'sender-copy', 'server', 'password'];

/** One piece of a mail as listed in the manifest. */
export interface ManifestPiece {
  readonly kind: 'body' | 'attachment';
  readonly key: Uint8Array;
  readonly size: number;
  readonly ciphertextHash: Uint8Array;
}

/** The sealed summary's entry in the manifest (docs/crypto.md §5.15): its key, plaintext size and ciphertext hash. */
export interface ManifestSummary {
  readonly key: Uint8Array;
  readonly size: number;
  readonly ciphertextHash: Uint8Array;
}

/** The manifest: piece keys, sizes, hashes and flags (docs/crypto.md §5.8). */
export interface Manifest {
  readonly messageId: string;
  readonly notE2EE: boolean;
  readonly pieces: readonly ManifestPiece[];
  /** The mail's sealed summary (flag bit 1), when the sealer wrote one. */
  readonly summary?: ManifestSummary;
}

const MAX_RECIPIENTS = 10_000;
const MAX_PIECES = 1_000;

/**
 * Encodes an envelope canonically (docs/crypto.md §5.7).
 * @throws {CryptoError} INVALID_INPUT on malformed fields.
 */
export function encodeEnvelope(e: MailEnvelope): Uint8Array {
  const w = new ByteWriter().u8(MAIL.version).u8(MAIL.suite).str(astring(e.messageId, 'messageId'));
  if (e.sender.kind === 'device') {
    const chain = e.sender.chain;
    const behalf = e.sender.onBehalfOf;
    if (behalf && !chain) throw new CryptoError('INVALID_INPUT', '"sender.onBehalfOf" needs the sender\'s own chain position');
    w.u8(behalf ? 4 : chain ? 3 : 1).str(astring(e.sender.userId, 'sender.userId')).str(astring(e.sender.deviceId, 'sender.deviceId')).raw(abytes(e.sender.signingPublicKey, 'sender.signingPublicKey', 32));
    if (chain) w.u32(aint(chain.length, 'sender.chain.length', 0xffffffff)).raw(abytes(chain.head, 'sender.chain.head', 32));
    if (behalf) w.str(astring(behalf.userId, 'sender.onBehalfOf.userId')).u32(aint(behalf.length, 'sender.onBehalfOf.length', 0xffffffff)).raw(abytes(behalf.head, 'sender.onBehalfOf.head', 32));
  } else {
    w.u8(2).str(astring(e.sender.address, 'sender.address'));
  }
  if (e.recipients.length > MAX_RECIPIENTS) throw new CryptoError('INVALID_INPUT', 'too many recipients');
  w.u16(e.recipients.length);
  for (const r of e.recipients) w.str(astring(r.userId, 'recipient.userId')).u32(aint(r.generation, 'recipient.generation', 0xffffffff)).raw(abytes(r.keyId, 'recipient.keyId', 32));
  return w.raw(abytes(e.manifestHash, 'manifestHash', 32)).raw(abytes(e.bccCommitment, 'bccCommitment', 32)).finish();
}

/**
 * Decodes an envelope.
 * @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED.
 */
export function decodeEnvelope(bytes: Uint8Array): MailEnvelope {
  const r = new ByteReader(abytes(bytes, 'envelope'));
  readHeader(r, MAIL.version, [MAIL.suite], 'envelope');
  const messageId = r.str();
  const kind = r.u8();
  let sender: MailSender;
  if (kind === 1) sender = { kind: 'device', userId: r.str(), deviceId: r.str(), signingPublicKey: r.raw(32).slice() };
  else if (kind === 3) sender = { kind: 'device', userId: r.str(), deviceId: r.str(), signingPublicKey: r.raw(32).slice(), chain: { length: r.u32(), head: r.raw(32).slice() } };
  else if (kind === 4)
    sender = {
      kind: 'device',
      userId: r.str(),
      deviceId: r.str(),
      signingPublicKey: r.raw(32).slice(),
      chain: { length: r.u32(), head: r.raw(32).slice() },
      onBehalfOf: { userId: r.str(), length: r.u32(), head: r.raw(32).slice() },
    };
  else if (kind === 2) sender = { kind: 'external', address: r.str() };
  else throw new CryptoError('MALFORMED', 'envelope: unknown sender kind');
  const n = r.u16();
  const recipients: MailParticipant[] = [];
  for (let i = 0; i < n; i++) recipients.push({ userId: r.str(), generation: r.u32(), keyId: r.raw(32).slice() });
  const manifestHash = r.raw(32).slice();
  const bccCommitment = r.raw(32).slice();
  r.end();
  return { messageId, sender, recipients, manifestHash, bccCommitment };
}

/**
 * Encodes a manifest (docs/crypto.md §5.8).
 * @throws {CryptoError} INVALID_INPUT on malformed fields.
 */
export function encodeManifest(m: Manifest): Uint8Array {
  if (m.pieces.length > MAX_PIECES) throw new CryptoError('INVALID_INPUT', 'too many pieces');
  const w = new ByteWriter().u8(MAIL.version).u8(MAIL.suite).str(astring(m.messageId, 'messageId')).u8((m.notE2EE ? 1 : 0) | (m.summary ? 2 : 0)).u16(m.pieces.length);
  for (const p of m.pieces) {
    w.u8(p.kind === 'body' ? 0 : 1).raw(abytes(p.key, 'piece.key', 32)).u64(aint(p.size, 'piece.size')).raw(abytes(p.ciphertextHash, 'piece.ciphertextHash', 32));
  }
  if (m.summary) w.raw(abytes(m.summary.key, 'summary.key', 32)).u32(aint(m.summary.size, 'summary.size', 0xffffffff)).raw(abytes(m.summary.ciphertextHash, 'summary.ciphertextHash', 32));
  return w.finish();
}

/**
 * Decodes a manifest.
 * @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED.
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  const r = new ByteReader(abytes(bytes, 'manifest'));
  readHeader(r, MAIL.version, [MAIL.suite], 'manifest');
  const messageId = r.str();
  const flags = r.u8();
  if (flags > 3) throw new CryptoError('MALFORMED', 'manifest: unknown flags');
  const n = r.u16();
  const pieces: ManifestPiece[] = [];
  for (let i = 0; i < n; i++) {
    const k = r.u8();
    if (k > 1) throw new CryptoError('MALFORMED', 'manifest: unknown piece kind');
    pieces.push({ kind: k === 0 ? 'body' : 'attachment', key: r.raw(32).slice(), size: r.u64(), ciphertextHash: r.raw(32).slice() });
  }
  const summary = flags & 2 ? { key: r.raw(32).slice(), size: r.u32(), ciphertextHash: r.raw(32).slice() } : undefined;
  r.end();
  return { messageId, notE2EE: (flags & 1) === 1, pieces, ...(summary ? { summary } : {}) };
}

/** The recipient descriptor of a box: role, user id, PUK generation and key id. */
export interface BoxHolder {
  readonly role: BoxRole;
  readonly userId: string;
  readonly generation: number;
  readonly keyId: Uint8Array;
}

/**
 * The recipient-associated digest (docs/crypto.md §5.9):
 * `SHA-256("sealmail/v1/mail/digest" 0x00 | envelope | role | userId | generation | keyId)`.
 * It binds version, suite, message id, sender and its key, all visible participants and their
 * keys, the manifest hash, the BCC commitment, and this box's holder.
 * @throws {CryptoError} INVALID_INPUT on malformed fields.
 */
export function recipientDigest(envelope: Uint8Array, holder: BoxHolder): Uint8Array {
  if (!ROLES.includes(holder.role)) throw new CryptoError('INVALID_INPUT', '"holder.role" unknown');
  const h = new ByteWriter()
    .u8(ROLES.indexOf(holder.role) + 1)
    .str(astring(holder.userId, 'holder.userId'))
    .u32(aint(holder.generation, 'holder.generation', 0xffffffff))
    .raw(abytes(holder.keyId, 'holder.keyId', 32))
    .finish();
  return sha256(concat(utf8('sealmail/v1/mail/digest\0'), abytes(envelope, 'envelope'), h));
}

/**
 * The BCC commitment: `HMAC-SHA256(commitKey, "sealmail/v1/mail/bcc" 0x00 | u16 n | str*)` over
 * the BCC list (docs/crypto.md §5.9). Computed even for an empty list, so it does not reveal
 * whether a mail has BCC recipients.
 * @throws {CryptoError} INVALID_INPUT when `commitKey` is not 32 bytes.
 */
export function bccCommitment(commitKey: Uint8Array, bcc: readonly string[]): Uint8Array {
  const w = new ByteWriter().raw(utf8('sealmail/v1/mail/bcc\0')).u16(bcc.length);
  for (const b of bcc) w.str(b);
  return hmac(sha256, abytes(commitKey, 'commitKey', 32), w.finish());
}

/** A recipient box record as stored per holder (docs/crypto.md §5.10). */
export interface RecipientBoxRecord {
  readonly role: BoxRole;
  readonly userId: string;
  readonly generation: number;
  readonly box: Uint8Array;
}

/** Encodes a box record: `0x01 | 0x01 | role u8 | userId str | generation u32 | u32 len | box`. @throws {CryptoError} INVALID_INPUT. */
export function encodeRecipientBox(r: RecipientBoxRecord): Uint8Array {
  const role = ROLES.indexOf(r.role);
  if (role < 0) throw new CryptoError('INVALID_INPUT', '"role" unknown');
  return new ByteWriter().u8(MAIL.version).u8(MAIL.suite).u8(role + 1).str(astring(r.userId, 'userId')).u32(aint(r.generation, 'generation', 0xffffffff)).bytes32(abytes(r.box, 'box')).finish();
}

/** Decodes a box record. @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED. */
export function decodeRecipientBox(bytes: Uint8Array): RecipientBoxRecord {
  const r = new ByteReader(abytes(bytes, 'recipientBox'));
  readHeader(r, MAIL.version, [MAIL.suite], 'recipient box');
  const role = ROLES[r.u8() - 1];
  if (!role) throw new CryptoError('MALFORMED', 'recipient box: unknown role');
  const out = { role, userId: r.str(), generation: r.u32(), box: r.bytes32().slice() };
  r.end();
  return out;
}

/** Binding context of piece `index` of message `messageId` (docs/crypto.md §5.8). @throws {CryptoError} INVALID_INPUT. */
export function mailPieceContext(messageId: string, index: number): Uint8Array {
  return new ByteWriter().str('mail-piece').str(astring(messageId, 'messageId')).u16(aint(index, 'index', 0xffff)).finish();
}

/** Binding context of the manifest of message `messageId`. @throws {CryptoError} INVALID_INPUT. */
export function mailManifestContext(messageId: string): Uint8Array {
  return new ByteWriter().str('mail-manifest').str(astring(messageId, 'messageId')).finish();
}
