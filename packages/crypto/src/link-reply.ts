/**
 * Secure reply for link recipients — docs/crypto.md §7.6.
 *
 * The sender's device puts a **reply grant** inside the sealed public copy of a link mail: the
 * sender's user id, the per-user-key generation and public keys the reply is to be sealed to,
 * and a 32-byte reply secret derived from that generation's seed and the copy's message id:
 *
 *   replySecret = HKDF-SHA256(ikm = PUK seed, salt = "sealmail/v1/link-reply", info = copyMessageId, 32)
 *   grant       = 0x01 | 0x01 | str userId | u32 generation | bytes32 publicKeyBundle (§5.3) | replySecret[32]
 *
 * The grant is covered by the copy's manifest hash, which the link's digest (in the URL
 * fragment) binds: a server that swaps the reply key swaps the ciphertext, and the viewer refuses
 * it before anything is shown. The viewer seals the reply to those keys (no signature: the
 * outside recipient has no key) and writes inside the sealed reply a tag
 *
 *   tag = HMAC-SHA256(replySecret, "sealmail/v1/link-reply/tag" 0x00 | str copyMessageId | str replyMessageId)
 *
 * which the sender's device recomputes from its own seed: a reply carrying a valid tag was written
 * by someone who opened this mail's link (not made up by the server, which cannot open the copy
 * once the password is erased); it is still not signed by anyone.
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { ByteReader, ByteWriter } from './encoding';
import { abytes, astring, concat, equalBytes, utf8 } from './_util';
import { decodePublicKeys, encodePublicKeys, type PublicKeys } from './keys';
import type { PerUserKey } from './puk';

/** Format constants of the reply grant. */
export const LINK_REPLY = Object.freeze({ version: 0x01, suite: 0x01, secretBytes: 32, tagBytes: 32 });

/** What a viewer learns from a link mail's grant: whom to seal a reply to, and the tag key. */
export interface LinkReplyGrant {
  readonly userId: string;
  readonly generation: number;
  readonly publicKeys: PublicKeys;
  readonly secret: Uint8Array;
}

/**
 * The reply secret of a link copy, derived from the per-user key generation's seed.
 * @throws {CryptoError} INVALID_INPUT on a malformed message id.
 */
export function linkReplySecret(puk: PerUserKey, copyMessageId: string): Uint8Array {
  astring(copyMessageId, 'copyMessageId');
  return expand(sha256, extract(sha256, abytes(puk.seed, 'seed'), utf8('sealmail/v1/link-reply')), utf8(copyMessageId), LINK_REPLY.secretBytes);
}

/** Encodes the grant the sender puts inside the sealed public copy. @throws {CryptoError} INVALID_INPUT. */
export function encodeLinkReplyGrant(grant: LinkReplyGrant): Uint8Array {
  return new ByteWriter()
    .u8(LINK_REPLY.version)
    .u8(LINK_REPLY.suite)
    .str(astring(grant.userId, 'userId'))
    .u32(grant.generation)
    .bytes32(encodePublicKeys(grant.publicKeys))
    .raw(abytes(grant.secret, 'secret', LINK_REPLY.secretBytes))
    .finish();
}

/** Decodes a grant. @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED. */
export function decodeLinkReplyGrant(bytes: Uint8Array): LinkReplyGrant {
  const r = new ByteReader(abytes(bytes, 'grant'));
  const version = r.u8();
  if (version !== LINK_REPLY.version) throw new CryptoError('UNSUPPORTED_VERSION', `link reply grant: unsupported version ${version}`);
  const suite = r.u8();
  if (suite !== LINK_REPLY.suite) throw new CryptoError('UNSUPPORTED_SUITE', `link reply grant: unsupported suite ${suite}`);
  const userId = r.str();
  const generation = r.u32();
  const publicKeys = decodePublicKeys(r.bytes32());
  const secret = r.raw(LINK_REPLY.secretBytes).slice();
  r.end();
  return { userId, generation, publicKeys, secret };
}

/** The tag a link reply carries inside its sealed body. @throws {CryptoError} INVALID_INPUT. */
export function linkReplyTag(secret: Uint8Array, copyMessageId: string, replyMessageId: string): Uint8Array {
  const msg = new ByteWriter().str(astring(copyMessageId, 'copyMessageId')).str(astring(replyMessageId, 'replyMessageId')).finish();
  return hmac(sha256, abytes(secret, 'secret', LINK_REPLY.secretBytes), concat(utf8('sealmail/v1/link-reply/tag\0'), msg));
}

/** Checks a reply's tag against the sender's own seed (constant time). False for any mismatch. */
export function verifyLinkReplyTag(opts: { puk: PerUserKey; copyMessageId: string; replyMessageId: string; tag: Uint8Array }): boolean {
  if (opts.tag.length !== LINK_REPLY.tagBytes) return false;
  const secret = linkReplySecret(opts.puk, opts.copyMessageId);
  const ok = equalBytes(linkReplyTag(secret, opts.copyMessageId, opts.replyMessageId), opts.tag);
  secret.fill(0);
  return ok;
}
