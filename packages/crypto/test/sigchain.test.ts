/**
 * Sigchains: a whole life (root, self-add, approve, backup, escrow, revoke, rotate, escrow
 * removal) replays to the right state; every adversarial case fails with its own typed error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../src/errors';
import { toHex } from '../src/encoding';
import { generateDeviceKeys, keyId, publicKeysOf, type KeySet } from '../src/keys';
import { generatePerUserKey } from '../src/puk';
import {
  activeDevices,
  approvedDevices,
  chainFingerprint,
  deviceActiveAt,
  safetyNumber,
  createLink,
  currentPuk,
  decodeLink,
  deviceFingerprint,
  escrowCertificate,
  LinkType,
  pinOf,
  replaySigchain,
  SigchainError,
  signSessionBinding,
  verifySessionBinding,
  ZERO_HASH,
  type Link,
  type LinkBody,
} from '../src/sigchain';

const USER = 'user-alice';
const laptop = generateDeviceKeys();
const phone = generateDeviceKeys();
const backup = generateDeviceKeys();
const escrow = generateDeviceKeys();
const stranger = generateDeviceKeys();
const puks = [1, 2, 3, 4, 5].map((g) => generatePerUserKey(g));
const pub = (k: KeySet) => publicKeysOf(k);
const idOf = (k: KeySet) => keyId(pub(k));
const puk = (g: number) => ({ generation: g, keys: pub(puks[g - 1]!) });

class Builder {
  links: Link[] = [];
  constructor(readonly userId = USER) {}
  add(signer: KeySet, body: LinkBody, newKeys: KeySet[] = [], over: Partial<{ seqno: number; prev: Uint8Array; userId: string }> = {}) {
    const last = this.links[this.links.length - 1];
    const link = createLink({
      userId: over.userId ?? this.userId,
      seqno: over.seqno ?? this.links.length,
      prev: over.prev ?? last?.hash ?? ZERO_HASH,
      time: 1_790_000_000_000 + this.links.length,
      signer,
      body,
      newKeys,
    });
    this.links.push(link);
    return this;
  }
  get bytes() {
    return this.links.map((l) => l.bytes);
  }
}

function root() {
  return new Builder().add(laptop, { type: LinkType.Root, device: { name: 'Laptop', kind: 'browser', keys: pub(laptop) }, puk: puk(1) }, [puks[0]!]);
}

const ACCOUNT = 'account-1';
const escrowAdd = (keys: KeySet = escrow, certificate = escrowCertificate(escrow, ACCOUNT)): LinkBody => ({
  type: LinkType.EscrowAdd,
  device: { name: 'Escrow', kind: 'escrow', keys: pub(keys) },
  accountId: ACCOUNT,
  certificate,
});

/** The full life of a chain. */
function life() {
  return root()
    .add(phone, { type: LinkType.DeviceRequest, device: { name: 'Phone', kind: 'browser', keys: pub(phone) } })
    .add(laptop, { type: LinkType.DeviceApprove, deviceId: idOf(phone), puk: puk(2) }, [puks[1]!])
    .add(laptop, { type: LinkType.BackupAdd, device: { name: 'Backup key', kind: 'backup', keys: pub(backup) } }, [backup])
    .add(phone, escrowAdd())
    .add(phone, { type: LinkType.DeviceRevoke, deviceId: idOf(laptop), puk: puk(3) }, [puks[2]!])
    .add(phone, { type: LinkType.PukRotate, puk: puk(4) }, [puks[3]!])
    .add(phone, { type: LinkType.EscrowRemove, deviceId: idOf(escrow), puk: puk(5) }, [puks[4]!]);
}

function expectCode(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    expect((e as CryptoError).code).toBe(code);
    return e as CryptoError;
  }
  throw new Error(`expected ${code}`);
}

describe('sigchain replay', () => {
  it('replays a whole life into the right state', () => {
    const b = life();
    const s = replaySigchain(b.bytes, { userId: USER });
    expect(s.length).toBe(8);
    expect(s.headHash).toEqual(b.links[7]!.hash);
    const status = Object.fromEntries([...s.devices.values()].map((d) => [d.name, d.status]));
    expect(status).toEqual({ Laptop: 'revoked', Phone: 'approved', 'Backup key': 'approved', Escrow: 'revoked' });
    expect(activeDevices(s).map((d) => d.name).sort()).toEqual(['Backup key', 'Phone']);
    expect(s.puks.map((p) => p.generation)).toEqual([1, 2, 3, 4, 5]);
    expect(currentPuk(s).keyId).toEqual(keyId(pub(puks[4]!)));
    expect(s.escrow).toBeNull();
    expect(s.backup?.name).toBe('Backup key');
  });

  it('a device that asks to join is pending, brings no key generation, and gets one only when approved', () => {
    const b = root().add(phone, { type: LinkType.DeviceRequest, device: { name: 'Phone', kind: 'browser', keys: pub(phone) } });
    const s = replaySigchain(b.bytes, { userId: USER });
    const p = s.devices.get(toHex(idOf(phone)))!;
    expect(p.status).toBe('pending');
    expect(p.approvedAt).toBeUndefined();
    expect(s.puks.map((k) => k.generation)).toEqual([1]); // nobody encrypts to anything the pending device holds
    expect(approvedDevices(s).map((d) => d.name)).toEqual(['Laptop']);
    // It cannot approve itself.
    const self = root().add(phone, { type: LinkType.DeviceRequest, device: { name: 'Phone', kind: 'browser', keys: pub(phone) } });
    self.add(phone, { type: LinkType.DeviceApprove, deviceId: idOf(phone), puk: puk(2) }, [puks[1]!]);
    expectCode(() => replaySigchain(self.bytes, { userId: USER }), 'SIGNER_NOT_ACTIVE');
    // Approval introduces the next generation (signed by it: proof of possession).
    b.add(laptop, { type: LinkType.DeviceApprove, deviceId: idOf(phone), puk: puk(2) }, [puks[1]!]);
    const after = replaySigchain(b.bytes, { userId: USER });
    expect(after.devices.get(toHex(idOf(phone)))!.approvedAt).toBe(2);
    expect(currentPuk(after).generation).toBe(2);
  });

  it('refuses a device that adds itself with a key generation (the password alone must not reach new mail)', () => {
    const b = root().add(phone, { type: LinkType.DeviceAdd, device: { name: 'Phone', kind: 'browser', keys: pub(phone) }, puk: puk(2) }, [puks[1]!]);
    expectCode(() => replaySigchain(b.bytes, { userId: USER }), 'SIGNER_NOT_ACTIVE');
    // An approved device may add another one directly (approved at once, with a new generation).
    const direct = root().add(laptop, { type: LinkType.DeviceAdd, device: { name: 'Phone', kind: 'browser', keys: pub(phone) }, puk: puk(2) }, [phone, puks[1]!]);
    const s = replaySigchain(direct.bytes, { userId: USER });
    expect(s.devices.get(toHex(idOf(phone)))!.status).toBe('approved');
  });

  it('records when each device could sign: approved, revoked, by chain position', () => {
    const s = replaySigchain(life().bytes, { userId: USER });
    const lap = s.devices.get(toHex(idOf(laptop)))!;
    const ph = s.devices.get(toHex(idOf(phone)))!;
    expect([lap.approvedAt, lap.revokedAt]).toEqual([0, 5]);
    expect(lap.revokedTime).toBe(1_790_000_000_005);
    expect(ph.addedTime).toBe(1_790_000_000_001);
    // Position L = the chain had L links when the mail was signed.
    expect([1, 5].map((l) => deviceActiveAt(lap, l))).toEqual([true, true]);
    expect([6, 8].map((l) => deviceActiveAt(lap, l))).toEqual([false, false]);
    expect([2, 3, 8].map((l) => deviceActiveAt(ph, l))).toEqual([false, true, true]);
    expect(s.hashes).toHaveLength(8);
    expect(s.hashes[7]).toEqual(s.headHash);
  });

  it('round-trips links through their encoding', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 60 }), fc.nat({ max: 2 ** 40 }), (name, userId, time) => {
        const l = createLink({ userId, seqno: 0, prev: ZERO_HASH, time, signer: laptop, body: { type: LinkType.Root, device: { name, kind: 'cli', keys: pub(laptop) }, puk: puk(1) }, newKeys: [puks[0]!] });
        const d = decodeLink(l.bytes);
        expect(d.userId).toBe(userId);
        expect(d.time).toBe(time);
        expect(d.body).toEqual(l.body);
        expect(d.hash).toEqual(l.hash);
      }),
      { numRuns: 20 },
    );
  });
});

describe('sigchain attacks', () => {
  // Hundreds of replays, each verifying signatures in pure JS: its own budget on a busy machine.
  it('BAD_SIGNATURE: a flipped bit in any signed region or signature, with no detail', { timeout: 60_000 }, () => {
    const b = life();
    const victim = b.links[2]!.bytes; // device-approve
    // Every byte of the header and the first body bytes, then a stride through the keys (each try verifies signatures).
    for (let i = 2; i < victim.length; i += i < 160 ? 1 : 41) {
      const t = victim.slice();
      t[i]! ^= 0x01;
      const bytes = [...b.bytes];
      bytes[2] = t;
      const e = (() => {
        try {
          replaySigchain(bytes, { userId: USER });
        } catch (err) {
          return err as CryptoError;
        }
        return null;
      })();
      expect(e, `byte ${i}`).toBeInstanceOf(CryptoError);
      expect(['BAD_SIGNATURE', 'MALFORMED', 'SEQUENCE_GAP', 'BROKEN_HASH_LINK', 'WRONG_USER', 'SIGNER_NOT_ACTIVE', 'INVALID_LINK', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_SUITE']).toContain(e!.code);
    }
    const t = victim.slice();
    t[t.length - 1]! ^= 0x80; // inside the signature itself
    const bytes = [...b.bytes];
    bytes[2] = t;
    expectCode(() => replaySigchain(bytes, { userId: USER }), 'BAD_SIGNATURE');
  });

  it('BAD_SIGNATURE: a server cannot add a device whose key did not sign (no proof of possession)', () => {
    // Forge a device-add of the stranger's public key, signed only by a key the server controls
    // and presenting the stranger's key id: count and signatures cannot match.
    const b = root();
    const forgedBody: LinkBody = { type: LinkType.DeviceAdd, device: { name: 'Evil', kind: 'browser', keys: pub(stranger) }, puk: puk(2) };
    const withServerKey = createLink({ userId: USER, seqno: 1, prev: b.links[0]!.hash, time: 1, signer: generateDeviceKeys(), body: { type: LinkType.PukRotate, puk: puk(2) }, newKeys: [puks[1]!] });
    expectCode(() => replaySigchain([...b.bytes, withServerKey.bytes], { userId: USER }), 'SIGNER_NOT_ACTIVE');
    // Drop the stranger's own signature from a genuine link: refused.
    const genuine = createLink({ userId: USER, seqno: 1, prev: b.links[0]!.hash, time: 1, signer: laptop, body: forgedBody, newKeys: [stranger, puks[1]!] });
    const stripped = genuine.bytes.slice(0, genuine.payload.length + 1 + 96 * 2);
    stripped[genuine.payload.length] = 2;
    expectCode(() => replaySigchain([...b.bytes, stripped], { userId: USER }), 'BAD_SIGNATURE');
  });

  it('BROKEN_HASH_LINK, SEQUENCE_GAP and WRONG_USER', () => {
    const b = root();
    b.add(laptop, { type: LinkType.PukRotate, puk: puk(2) }, [puks[1]!], { prev: new Uint8Array(32).fill(7) });
    expectCode(() => replaySigchain(b.bytes, { userId: USER }), 'BROKEN_HASH_LINK');
    const gap = root().add(laptop, { type: LinkType.PukRotate, puk: puk(2) }, [puks[1]!], { seqno: 2 });
    expectCode(() => replaySigchain(gap.bytes, { userId: USER }), 'SEQUENCE_GAP');
    const missing = life().bytes;
    missing.splice(3, 1);
    expectCode(() => replaySigchain(missing, { userId: USER }), 'SEQUENCE_GAP');
    expectCode(() => replaySigchain(life().bytes, { userId: 'user-bob' }), 'WRONG_USER');
  });

  it('SIGNER_NOT_ACTIVE for a key that is no device of the user', () => {
    const b = root().add(stranger, { type: LinkType.PukRotate, puk: puk(2) }, [puks[1]!]);
    expectCode(() => replaySigchain(b.bytes, { userId: USER }), 'SIGNER_NOT_ACTIVE');
  });

  it('REVOKED_SIGNER for a revoked device signing later', () => {
    const gen6 = generatePerUserKey(6);
    const b = life().add(laptop, { type: LinkType.PukRotate, puk: { generation: 6, keys: pub(gen6) } }, [gen6]);
    const e = expectCode(() => replaySigchain(b.bytes, { userId: USER }), 'REVOKED_SIGNER');
    expect((e as SigchainError).seqno).toBe(8);
  });

  it('ROLLBACK and FORK against a pin', () => {
    const full = life();
    const pin = pinOf(replaySigchain(full.bytes, { userId: USER }));
    expect(replaySigchain(full.bytes, { userId: USER, pin }).length).toBe(8);
    const err = expectCode(() => replaySigchain(full.bytes.slice(0, 6), { userId: USER, pin }), 'ROLLBACK');
    expect(err).toBeInstanceOf(SigchainError);
    // Same length, different history: a second chain for the same user.
    const gen6 = generatePerUserKey(5);
    const other = life();
    other.links.pop();
    other.add(phone, { type: LinkType.PukRotate, puk: { generation: 5, keys: pub(gen6) } }, [gen6]);
    expect(other.links.length).toBe(full.links.length);
    expect(replaySigchain(other.bytes, { userId: USER }).length).toBe(8); // valid on its own
    const fork = expectCode(() => replaySigchain(other.bytes, { userId: USER, pin }), 'FORK');
    expect((fork as SigchainError).seqno).toBe(7);
    // A longer chain that extends what was seen is fine.
    const gen6b = generatePerUserKey(6);
    const longer = life().add(phone, { type: LinkType.PukRotate, puk: { generation: 6, keys: pub(gen6b) } }, [gen6b]);
    expect(replaySigchain(longer.bytes, { userId: USER, pin }).length).toBe(9);
  });

  it('takes the escrow device on its certificate, and lets the escrow key approve a device and leave', () => {
    // Certified for another account, by another key, or with a flipped bit: refused.
    for (const bad of [escrowAdd(escrow, escrowCertificate(escrow, 'account-2')), escrowAdd(escrow, escrowCertificate(stranger, ACCOUNT)), escrowAdd(stranger)]) {
      expectCode(() => replaySigchain(root().add(laptop, bad).bytes, { userId: USER }), 'BAD_SIGNATURE');
    }
    const flipped = escrowCertificate(escrow, ACCOUNT);
    flipped[3]! ^= 0x10;
    expectCode(() => replaySigchain(root().add(laptop, escrowAdd(escrow, flipped)).bytes, { userId: USER }), 'BAD_SIGNATURE');
    // The certified escrow device is approved at once; holding the escrow key, an escrow admin
    // approves a user's new device (recovery) and, when escrow is turned off, removes it.
    const b = root()
      .add(laptop, escrowAdd())
      .add(phone, { type: LinkType.DeviceRequest, device: { name: 'Phone', kind: 'browser', keys: pub(phone) } })
      .add(escrow, { type: LinkType.DeviceApprove, deviceId: idOf(phone), puk: puk(2) }, [puks[1]!])
      .add(escrow, { type: LinkType.EscrowRemove, deviceId: idOf(escrow), puk: puk(3) }, [puks[2]!]);
    const s = replaySigchain(b.bytes, { userId: USER });
    expect(s.devices.get(toHex(idOf(phone)))!.status).toBe('approved');
    expect(s.escrow).toBeNull();
    expect(decodeLink(b.links[1]!.bytes).body).toEqual(escrowAdd());
    // Escrow cannot be added twice.
    expectCode(() => replaySigchain(root().add(laptop, escrowAdd()).add(laptop, escrowAdd()).bytes, { userId: USER }), 'INVALID_LINK');
  });

  it('INVALID_LINK for broken rules of a link type', () => {
    const twoRoots = root().add(laptop, { type: LinkType.Root, device: { name: 'Again', kind: 'browser', keys: pub(phone) }, puk: puk(2) }, [phone, puks[1]!]);
    expectCode(() => replaySigchain(twoRoots.bytes, { userId: USER }), 'INVALID_LINK');
    const skip = root().add(laptop, { type: LinkType.PukRotate, puk: puk(3) }, [puks[2]!]);
    expectCode(() => replaySigchain(skip.bytes, { userId: USER }), 'INVALID_LINK');
    const approveUnknown = root().add(laptop, { type: LinkType.DeviceApprove, deviceId: idOf(stranger), puk: puk(2) }, [puks[1]!]);
    expectCode(() => replaySigchain(approveUnknown.bytes, { userId: USER }), 'INVALID_LINK');
    expectCode(() => replaySigchain([], { userId: USER }), 'INVALID_LINK');
  });

  it('rejects undecodable links with typed errors', () => {
    const l = root().links[0]!.bytes;
    expectCode(() => decodeLink(l.subarray(0, l.length - 1)), 'MALFORMED');
    expectCode(() => decodeLink(new Uint8Array([...l, 0])), 'MALFORMED');
    const v = l.slice();
    v[0] = 1; // links of version 1 let a device add itself with a key generation: no longer read
    expectCode(() => decodeLink(v), 'UNSUPPORTED_VERSION');
    const s = l.slice();
    s[1] = 9;
    expectCode(() => decodeLink(s), 'UNSUPPORTED_SUITE');
  });
});

describe('fingerprints', () => {
  it('are short, stable, and differ between devices and chain heads', () => {
    const f = deviceFingerprint(pub(laptop));
    expect(f).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(deviceFingerprint(pub(laptop))).toBe(f);
    expect(deviceFingerprint(pub(phone))).not.toBe(f);
    const a = replaySigchain(root().bytes, { userId: USER });
    const b = replaySigchain(life().bytes, { userId: USER });
    expect(chainFingerprint(a)).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(chainFingerprint(a)).not.toBe(chainFingerprint(b));
  });
});

describe('safety numbers', () => {
  it('change when the set of approved devices changes, not with a key rotation', () => {
    const base = root().add(laptop, { type: LinkType.BackupAdd, device: { name: 'Backup key', kind: 'backup', keys: pub(backup) } }, [backup]);
    const n0 = safetyNumber(replaySigchain(base.bytes, { userId: USER }));
    expect(n0).toMatch(/^\d{4}( \d{4}){4}$/);
    base.add(laptop, { type: LinkType.PukRotate, puk: puk(2) }, [puks[1]!]);
    expect(safetyNumber(replaySigchain(base.bytes, { userId: USER }))).toBe(n0);
    base.add(phone, { type: LinkType.DeviceRequest, device: { name: 'Phone', kind: 'browser', keys: pub(phone) } });
    expect(safetyNumber(replaySigchain(base.bytes, { userId: USER }))).toBe(n0); // a request alone changes nothing
    base.add(laptop, { type: LinkType.DeviceApprove, deviceId: idOf(phone), puk: puk(3) }, [puks[2]!]);
    const n1 = safetyNumber(replaySigchain(base.bytes, { userId: USER }));
    expect(n1).not.toBe(n0);
    // Another user with the same devices has another number.
    expect(safetyNumber({ ...replaySigchain(base.bytes, { userId: USER }), userId: 'user-bob' })).not.toBe(n1);
  });
});

describe('session binding', () => {
  const binding = { userId: USER, sessionId: 'session-1', deviceId: keyId(pub(laptop)) };
  const sig = signSessionBinding(laptop.signing.secretKey, binding);

  it('verifies with the device key for exactly that user, session and device', () => {
    expect(sig).toHaveLength(64);
    expect(verifySessionBinding(laptop.signing.publicKey, binding, sig)).toBe(true);
    expect(verifySessionBinding(phone.signing.publicKey, binding, sig)).toBe(false);
    expect(verifySessionBinding(laptop.signing.publicKey, { ...binding, sessionId: 'session-2' }, sig)).toBe(false);
    expect(verifySessionBinding(laptop.signing.publicKey, { ...binding, userId: 'user-bob' }, sig)).toBe(false);
    expect(verifySessionBinding(laptop.signing.publicKey, { ...binding, deviceId: keyId(pub(phone)) }, sig)).toBe(false);
  });

  it('fails on any flipped bit, and is no link signature', () => {
    for (let i = 0; i < sig.length * 8; i += 13) {
      const bad = Uint8Array.from(sig);
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(verifySessionBinding(laptop.signing.publicKey, binding, bad)).toBe(false);
    }
    // A link's signature over the same bytes under another context does not pass.
    const link = root().links[0]!;
    expect(verifySessionBinding(laptop.signing.publicKey, binding, link.bytes.slice(-64))).toBe(false);
  });

  it('rejects malformed input with INVALID_INPUT', () => {
    expect(() => signSessionBinding(laptop.signing.secretKey, { ...binding, deviceId: new Uint8Array(31) })).toThrow(CryptoError);
    expect(() => verifySessionBinding(laptop.signing.publicKey, { ...binding, sessionId: '' }, sig)).toThrow(CryptoError);
  });
});
