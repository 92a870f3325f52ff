/**
 * Delegation in the key history (docs/sigchain.md §3.2) and mailbox key boxes (docs/crypto.md
 * §5.14): the grant's bytes rebuilt from the documented layout, replay rules, tampering with the
 * rights, the delegate or the signature refused, and boxes bound to delegate, generation and mailbox.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import type { CryptoError } from '../src/errors';
import { ByteWriter } from '../src/encoding';
import { signWithContext } from '../src/ed25519';
import { encodePublicKeys, generateDeviceKeys, keyId, publicKeysOf, type KeySet } from '../src/keys';
import { generatePerUserKey } from '../src/puk';
import { boxMailboxKey, openMailboxKey } from '../src/delegation';
import { decodeEnvelope, encodeEnvelope } from '../src/mail-format';
import { activeDelegation, createLink, delegationAt, DelegateRights, LinkType, replaySigchain, ZERO_HASH, type Link, type LinkBody } from '../src/sigchain';

const MANAGER = 'user-manager';
const DELEGATE = 'user-delegate';
const laptop = generateDeviceKeys();
const puks = [1, 2, 3].map((g) => generatePerUserKey(g));
const pub = (k: KeySet) => publicKeysOf(k);
const head = new Uint8Array(32).fill(7);
const grant = (rights = DelegateRights.ReadAndSend, userId = DELEGATE): LinkBody => ({ type: LinkType.DelegateGrant, delegate: { userId, address: 'dana@example.test', chain: { length: 3, head }, rights } });

function chain(...bodies: [LinkBody, KeySet[]][]): Link[] {
  const links: Link[] = [];
  const all: [LinkBody, KeySet[]][] = [[{ type: LinkType.Root, device: { name: 'Laptop', kind: 'browser', keys: pub(laptop) }, puk: { generation: 1, keys: pub(puks[0]!) } }, [puks[0]!]], ...bodies];
  for (const [body, newKeys] of all) {
    const last = links[links.length - 1];
    links.push(createLink({ userId: MANAGER, seqno: links.length, prev: last?.hash ?? ZERO_HASH, time: 1_790_000_000_000 + links.length, signer: laptop, body, newKeys }));
  }
  return links;
}
const replay = (links: readonly { bytes: Uint8Array }[] | Uint8Array[]) => replaySigchain(links.map((l) => (l instanceof Uint8Array ? l : l.bytes)), { userId: MANAGER });
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as CryptoError).code;
  }
  return 'none';
};
const revoke = (g: number): [LinkBody, KeySet[]] => [{ type: LinkType.DelegateRevoke, delegateUserId: DELEGATE, puk: { generation: g, keys: pub(puks[g - 1]!) } }, [puks[g - 1]!]];

describe('delegate-grant and delegate-revoke links', () => {
  it('encode exactly as docs/sigchain.md §2 and §3.2 lay them out (rebuilt with the primitives alone)', () => {
    const links = chain([grant(), []]);
    const g = links[1]!;
    const body = new ByteWriter().str(DELEGATE).str('dana@example.test').u32(3).raw(head).u8(3).finish();
    const payload = new ByteWriter().u8(0x02).u8(0x01).u8(10).str(MANAGER).u32(1).raw(links[0]!.hash).u64(g.time).raw(keyId(pub(laptop))).bytes32(body).finish();
    expect(g.payload).toEqual(payload);
    const signature = signWithContext(laptop.signing.secretKey, 'sigchain-link', payload);
    expect(g.bytes).toEqual(new ByteWriter().raw(payload).u8(1).raw(keyId(pub(laptop))).raw(signature).finish());
    expect(g.hash).toEqual(sha256(new ByteWriter().raw(new TextEncoder().encode('sealmail/v1/sigchain-link\0')).raw(g.bytes).finish()));
    // delegate-revoke: str(delegate user id) | puk (generation u32 | bundle), signed by the signer and the new generation.
    const r = chain([grant(), []], revoke(2))[2]!;
    expect(r.payload.subarray(r.payload.length - (2 + DELEGATE.length + 4 + 1250))).toEqual(new ByteWriter().str(DELEGATE).u32(2).raw(encodePublicKeys(pub(puks[1]!))).finish());
    expect(r.signatures.map((s) => s.keyId)).toEqual([keyId(pub(laptop)), keyId(pub(puks[1]!))]);
  });

  it('replay records grants by position; a revocation brings the next key generation', () => {
    const state = replay(chain([grant(), []], revoke(2), [grant(DelegateRights.Read), []]));
    expect(state.delegations.map((d) => [d.delegate.userId, d.delegate.rights, d.grantedAt, d.revokedAt])).toEqual([
      [DELEGATE, 3, 1, 2],
      [DELEGATE, 1, 3, undefined],
    ]);
    expect(state.puks.map((p) => p.generation)).toEqual([1, 2]);
    expect(activeDelegation(state, DELEGATE)?.delegate.rights).toBe(DelegateRights.Read);
    // Send-as held while the first grant was in force (positions 2), not before it nor after its revocation.
    expect(delegationAt(state, DELEGATE, 1, 'send')).toBeUndefined();
    expect(delegationAt(state, DELEGATE, 2, 'send')?.grantedAt).toBe(1);
    expect(delegationAt(state, DELEGATE, 3, 'send')).toBeUndefined();
    expect(delegationAt(state, DELEGATE, 4, 'send')).toBeUndefined(); // the new grant is read only
    expect(delegationAt(state, DELEGATE, 4, 'read')?.grantedAt).toBe(3);
    expect(delegationAt(state, 'someone-else', 4, 'read')).toBeUndefined();
  });

  it('INVALID_LINK: granting oneself, twice, or revoking what is not granted', () => {
    expect(code(() => replay(chain([grant(DelegateRights.Read, MANAGER), []])))).toBe('INVALID_LINK');
    expect(code(() => replay(chain([grant(), []], [grant(), []])))).toBe('INVALID_LINK');
    expect(code(() => replay(chain(revoke(2))))).toBe('INVALID_LINK');
    // Unknown rights do not even decode.
    const links = chain([grant(), []]);
    const t = links[1]!.bytes.slice();
    t[links[1]!.payload.length - 1] = 2;
    expect(code(() => replay([links[0]!.bytes, t]))).toBe('MALFORMED');
  });

  it('tampering: changed rights, delegate, chain head or signature is refused', () => {
    const links = chain([grant(DelegateRights.Read), []]);
    const g = links[1]!;
    const bodyStart = g.payload.length - (2 + DELEGATE.length + 2 + 'dana@example.test'.length + 4 + 32 + 1);
    const flip = (at: number, bit = 0x01) => {
      const t = g.bytes.slice();
      t[at]! ^= bit;
      return code(() => replay([links[0]!.bytes, t]));
    };
    expect(flip(g.payload.length - 1, 0x02)).toBe('BAD_SIGNATURE'); // read → read and send as
    expect(flip(bodyStart + 2 + 3)).toBe('BAD_SIGNATURE'); // another delegate user id
    expect(flip(bodyStart + 2 + DELEGATE.length + 2 + 1)).toBe('BAD_SIGNATURE'); // another address
    expect(flip(g.payload.length - 10)).toBe('BAD_SIGNATURE'); // another chain head
    expect(flip(g.bytes.length - 1, 0x80)).toBe('BAD_SIGNATURE'); // the signature itself
    // A grant signed by a key that is no device of the manager (the server's own): refused.
    const forged = createLink({ userId: MANAGER, seqno: 1, prev: links[0]!.hash, time: 1, signer: generateDeviceKeys(), body: grant() });
    expect(code(() => replay([links[0]!.bytes, forged.bytes]))).toBe('SIGNER_NOT_ACTIVE');
    // A revocation whose new generation did not sign (no proof of possession): refused.
    const withRevoke = chain([grant(), []], revoke(2));
    const rv = withRevoke[2]!;
    const stripped = rv.bytes.slice(0, rv.payload.length + 1 + 96);
    stripped[rv.payload.length] = 1;
    expect(code(() => replay([withRevoke[0]!.bytes, withRevoke[1]!.bytes, stripped]))).toBe('BAD_SIGNATURE');
  });
});

describe('mailbox key boxes', () => {
  const delegatePuk = generatePerUserKey(4);
  const other = generatePerUserKey(4);
  const boxed = boxMailboxKey({ mailboxUserId: MANAGER, puk: puks[1]!, delegate: { userId: DELEGATE, generation: 4, encryptionPublicKey: delegatePuk.encryption.publicKey } });
  const open = (over: Partial<Parameters<typeof openMailboxKey>[0]> = {}) =>
    openMailboxKey({ box: boxed.box, mailboxUserId: MANAGER, generation: 2, delegateUserId: DELEGATE, delegatePuk, expectedPublicKeys: pub(puks[1]!), ...over });

  it('open for the delegate with the mailbox generation the chain records', () => {
    expect(boxed).toMatchObject({ generation: 2, delegateGeneration: 4 });
    expect(open().seed).toEqual(puks[1]!.seed);
  });

  it('are bound to delegate, delegate generation, mailbox and generation; a made-up seed is KEY_MISMATCH', () => {
    expect(code(() => open({ delegateUserId: 'user-other' }))).toBe('DECRYPTION_FAILED');
    expect(code(() => open({ delegatePuk: other }))).toBe('DECRYPTION_FAILED');
    expect(code(() => open({ delegatePuk: { ...delegatePuk, generation: 5 } }))).toBe('DECRYPTION_FAILED');
    expect(code(() => open({ mailboxUserId: 'user-x' }))).toBe('DECRYPTION_FAILED');
    expect(code(() => open({ generation: 3 }))).toBe('DECRYPTION_FAILED');
    const t = boxed.box.slice();
    t[t.length - 1]! ^= 1;
    expect(code(() => open({ box: t }))).toBe('DECRYPTION_FAILED');
    // The server boxes a seed of its own to the delegate's public key: it opens, but is not the chain's key.
    const fake = boxMailboxKey({ mailboxUserId: MANAGER, puk: { ...generatePerUserKey(2) }, delegate: { userId: DELEGATE, generation: 4, encryptionPublicKey: delegatePuk.encryption.publicKey } });
    expect(code(() => open({ box: fake.box }))).toBe('KEY_MISMATCH');
  });
});

describe('envelope sender kind 4 (on behalf of)', () => {
  it('round-trips the mailbox and its chain position, and needs the sender’s own position', () => {
    const sender = { kind: 'device' as const, userId: DELEGATE, deviceId: 'ab'.repeat(32), signingPublicKey: laptop.signing.publicKey, chain: { length: 4, head }, onBehalfOf: { userId: MANAGER, length: 2, head: new Uint8Array(32).fill(9) } };
    const bytes = encodeEnvelope({ messageId: 'm@x', sender, recipients: [], manifestHash: new Uint8Array(32), bccCommitment: new Uint8Array(32) });
    expect(bytes[2 + 2 + 3]).toBe(4);
    expect(decodeEnvelope(bytes).sender).toEqual(sender);
    const { chain: _c, ...noChain } = sender;
    expect(code(() => encodeEnvelope({ messageId: 'm@x', sender: noChain, recipients: [], manifestHash: new Uint8Array(32), bccCommitment: new Uint8Array(32) }))).toBe('INVALID_INPUT');
  });
});
