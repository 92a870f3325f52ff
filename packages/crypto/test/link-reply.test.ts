/** Reply grants and tags for secure link replies (docs/crypto.md §7.6): round trip and the ways they must fail. */
import { describe, expect, it } from 'vitest';
import { decodeLinkReplyGrant, encodeLinkReplyGrant, generatePerUserKey, linkReplySecret, linkReplyTag, publicKeysOf, verifyLinkReplyTag } from '../src/index';

describe('link reply grant and tag', () => {
  const puk = generatePerUserKey(1);
  const secret = linkReplySecret(puk, 'copy@example.test');

  it('round-trips the grant and verifies a tag made with its secret', () => {
    const grant = decodeLinkReplyGrant(encodeLinkReplyGrant({ userId: 'u1', generation: 1, publicKeys: publicKeysOf(puk), secret }));
    expect(grant.userId).toBe('u1');
    expect(grant.secret).toEqual(secret);
    const tag = linkReplyTag(grant.secret, 'copy@example.test', 'reply@x.example');
    expect(verifyLinkReplyTag({ puk, copyMessageId: 'copy@example.test', replyMessageId: 'reply@x.example', tag })).toBe(true);
  });

  it('refuses a tag for another reply, another copy, another seed, or a truncated one', () => {
    const tag = linkReplyTag(secret, 'copy@example.test', 'reply@x.example');
    expect(verifyLinkReplyTag({ puk, copyMessageId: 'copy@example.test', replyMessageId: 'other@x.example', tag })).toBe(false);
    expect(verifyLinkReplyTag({ puk, copyMessageId: 'other-copy@example.test', replyMessageId: 'reply@x.example', tag })).toBe(false);
    expect(verifyLinkReplyTag({ puk: generatePerUserKey(1), copyMessageId: 'copy@example.test', replyMessageId: 'reply@x.example', tag })).toBe(false);
    expect(verifyLinkReplyTag({ puk, copyMessageId: 'copy@example.test', replyMessageId: 'reply@x.example', tag: tag.subarray(0, 31) })).toBe(false);
  });

  it('secrets differ per copy; an unknown version or suite, or trailing bytes, are refused', () => {
    expect(linkReplySecret(puk, 'a@x')).not.toEqual(linkReplySecret(puk, 'b@x'));
    const bytes = encodeLinkReplyGrant({ userId: 'u1', generation: 1, publicKeys: publicKeysOf(puk), secret });
    expect(() => decodeLinkReplyGrant(Uint8Array.of(2, ...bytes.subarray(1)))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
    expect(() => decodeLinkReplyGrant(Uint8Array.of(1, 9, ...bytes.subarray(2)))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_SUITE' }));
    expect(() => decodeLinkReplyGrant(Uint8Array.of(...bytes, 0))).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });
});
