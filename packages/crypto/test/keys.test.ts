import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BACKUP_KEY,
  backupKeyDevice,
  boxEscrowKey,
  boxPerUserKey,
  boxPerUserKeyHistory,
  decodePublicKeys,
  derivePerUserKey,
  encodePublicKeys,
  escrowKeyFromSecret,
  formatBackupKey,
  generateBackupKey,
  generateDeviceKeys,
  generateEscrowKey,
  generatePerUserKey,
  keyId,
  openBox,
  openEscrowKeyBox,
  openPerUserKeyBox,
  openPerUserKeyHistory,
  parseBackupKey,
  publicKeysOf,
  rotatePerUserKey,
  sealBox,
  toHex,
} from '../src/index';
import { expectCode, flip, seededRandom } from './helpers';

const random = seededRandom('keys');
const alice1 = generateDeviceKeys({ random });
const alice2 = generateDeviceKeys({ random });
const enc = new TextEncoder();

describe('boxes (HPKE X-Wing)', () => {
  const ctx = enc.encode('ctx');
  const box = sealBox({ recipientPublicKey: alice1.encryption.publicKey, purpose: 'test', context: ctx, plaintext: enc.encode('secret'), random });
  const open = (b: Uint8Array, o: Partial<{ purpose: string; context: Uint8Array; sk: Uint8Array }> = {}) =>
    openBox({ box: b, recipientSecretKey: o.sk ?? alice1.encryption.secretKey, purpose: o.purpose ?? 'test', context: o.context ?? ctx });

  it('round trips', () => expect(new TextDecoder().decode(open(box))).toBe('secret'));
  it('rejects unknown version and suite', () => {
    expectCode(() => open(flip(box, 0, 1)), 'UNSUPPORTED_VERSION');
    expectCode(() => open(flip(box, 1, 1)), 'UNSUPPORTED_SUITE');
  });
  it.each([
    ['enc (ML-KEM part)', 10],
    ['enc (X25519 part)', 2 + 1100],
    ['ciphertext', 2 + 1120 + 1],
    ['tag', -1],
  ])('flipping a bit in %s fails flat', (_n, i) => {
    const e = expectCode(() => open(flip(box, i < 0 ? box.length + i : i)), 'DECRYPTION_FAILED');
    expect(e.message).toBe('decryption failed');
  });
  it('wrong purpose, context, key, truncation, extension fail', () => {
    expectCode(() => open(box, { purpose: 'other' }), 'DECRYPTION_FAILED');
    expectCode(() => open(box, { context: enc.encode('ctx2') }), 'DECRYPTION_FAILED');
    expectCode(() => open(box, { sk: alice2.encryption.secretKey }), 'DECRYPTION_FAILED');
    expectCode(() => open(box.subarray(0, box.length - 1)), 'DECRYPTION_FAILED');
    expectCode(() => open(box.subarray(0, 100)), 'DECRYPTION_FAILED');
    expectCode(() => open(new Uint8Array([...box, 0])), 'DECRYPTION_FAILED');
    // moving the last ciphertext byte into the context
    expectCode(() => open(box.subarray(0, box.length - 1), { context: new Uint8Array([...ctx, box[box.length - 1]!]) }), 'DECRYPTION_FAILED');
  });
  it('round trips arbitrary plaintexts and contexts (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 100 }), (pt, c) => {
        const b = sealBox({ recipientPublicKey: alice1.encryption.publicKey, purpose: 'p', context: c, plaintext: pt, random });
        expect(openBox({ box: b, recipientSecretKey: alice1.encryption.secretKey, purpose: 'p', context: c })).toEqual(pt);
      }),
      { numRuns: 20 },
    );
  });
});

describe('device keys and public key bundles', () => {
  it('bundle round trip and rejections', () => {
    const pub = publicKeysOf(alice1);
    const b = encodePublicKeys(pub);
    expect(b.length).toBe(1250);
    expect(decodePublicKeys(b)).toEqual(pub);
    expectCode(() => decodePublicKeys(flip(b, 0)), 'UNSUPPORTED_VERSION');
    expectCode(() => decodePublicKeys(flip(b, 1)), 'UNSUPPORTED_SUITE');
    expectCode(() => decodePublicKeys(b.subarray(0, 1249)), 'MALFORMED');
    expect(keyId(pub)).toHaveLength(32);
    expect(toHex(keyId(pub))).not.toBe(toHex(keyId(publicKeysOf(alice2))));
  });
  it('devices get independent keys', () => {
    expect(toHex(alice1.signing.publicKey)).not.toBe(toHex(alice2.signing.publicKey));
    expect(alice1.encryption.publicKey).toHaveLength(1216);
  });
});

describe('per-user keys', () => {
  const puk = generatePerUserKey(1, { random });
  const devices = [alice1, alice2].map((d, i) => ({ deviceId: `dev-${i}`, encryptionPublicKey: d.encryption.publicKey }));
  const boxes = boxPerUserKey({ userId: 'alice', puk, devices, random });

  it('derivation is deterministic and domain separated', () => {
    const again = derivePerUserKey(puk.seed, 1);
    expect(again.signing.publicKey).toEqual(puk.signing.publicKey);
    expect(again.encryption.publicKey).toEqual(puk.encryption.publicKey);
    // same secret under another label (escrow) gives other keys
    expect(toHex(escrowKeyFromSecret(puk.seed).device.signing.publicKey)).not.toBe(toHex(puk.signing.publicKey));
  });

  it('each device opens its box; the box binds user, generation and device', () => {
    const [b0, b1] = boxes;
    const base = { userId: 'alice', generation: 1, expectedPublicKeys: publicKeysOf(puk) };
    expect(openPerUserKeyBox({ ...base, box: b0!.box, deviceId: 'dev-0', deviceEncryptionSecretKey: alice1.encryption.secretKey }).seed).toEqual(puk.seed);
    expect(openPerUserKeyBox({ ...base, box: b1!.box, deviceId: 'dev-1', deviceEncryptionSecretKey: alice2.encryption.secretKey }).seed).toEqual(puk.seed);
    expectCode(() => openPerUserKeyBox({ ...base, box: b0!.box, deviceId: 'dev-1', deviceEncryptionSecretKey: alice1.encryption.secretKey }), 'DECRYPTION_FAILED');
    expectCode(() => openPerUserKeyBox({ ...base, generation: 2, box: b0!.box, deviceId: 'dev-0', deviceEncryptionSecretKey: alice1.encryption.secretKey }), 'DECRYPTION_FAILED');
    expectCode(() => openPerUserKeyBox({ ...base, userId: 'bob', box: b0!.box, deviceId: 'dev-0', deviceEncryptionSecretKey: alice1.encryption.secretKey }), 'DECRYPTION_FAILED');
    expectCode(() => openPerUserKeyBox({ ...base, box: b1!.box, deviceId: 'dev-1', deviceEncryptionSecretKey: alice1.encryption.secretKey }), 'DECRYPTION_FAILED');
  });

  it('rotatePerUserKey makes the next generation and boxes it to every device', () => {
    const { puk: next, boxes: bx } = rotatePerUserKey({ userId: 'alice', previousGeneration: 1, devices, random });
    expect(next.generation).toBe(2);
    expect(bx.map((b) => b.deviceId)).toEqual(['dev-0', 'dev-1']);
    const opened = openPerUserKeyBox({ box: bx[1]!.box, userId: 'alice', generation: 2, deviceId: 'dev-1', deviceEncryptionSecretKey: alice2.encryption.secretKey, expectedPublicKeys: publicKeysOf(next) });
    expect(opened.seed).toEqual(next.seed);
    expect(toHex(next.seed)).not.toBe(toHex(puk.seed));
  });

  it('a box holding a seed that does not match the chain is KEY_MISMATCH', () => {
    const other = generatePerUserKey(1, { random });
    const [b] = boxPerUserKey({ userId: 'alice', puk: other, devices: devices.slice(0, 1), random });
    expectCode(
      () => openPerUserKeyBox({ box: b!.box, userId: 'alice', generation: 1, deviceId: 'dev-0', deviceEncryptionSecretKey: alice1.encryption.secretKey, expectedPublicKeys: publicKeysOf(puk) }),
      'KEY_MISMATCH',
    );
  });

  it('older generations are shared with a newly approved device in a signed history box', () => {
    const gens = [puk, generatePerUserKey(2, { random })];
    const newDevice = generateDeviceKeys({ random });
    const history = boxPerUserKeyHistory({
      userId: 'alice',
      generations: gens,
      fromDeviceId: 'dev-0',
      fromSigningSecretKey: alice1.signing.secretKey,
      to: { deviceId: 'dev-new', encryptionPublicKey: newDevice.encryption.publicKey },
      random,
    });
    const expected = new Map(gens.map((g) => [g.generation, publicKeysOf(g)]));
    const base = { history, userId: 'alice', fromDeviceId: 'dev-0', fromSigningPublicKey: alice1.signing.publicKey, toDeviceId: 'dev-new', toEncryptionSecretKey: newDevice.encryption.secretKey, expected };
    const opened = openPerUserKeyHistory(base);
    expect(opened.map((g) => g.generation)).toEqual([1, 2]);
    expect(opened[1]!.seed).toEqual(gens[1]!.seed);
    expectCode(() => openPerUserKeyHistory({ ...base, fromSigningPublicKey: alice2.signing.publicKey }), 'SIGNATURE_INVALID');
    expectCode(() => openPerUserKeyHistory({ ...base, fromDeviceId: 'dev-1' }), 'SIGNATURE_INVALID');
    expectCode(() => openPerUserKeyHistory({ ...base, toDeviceId: 'dev-x' }), 'SIGNATURE_INVALID');
    expectCode(() => openPerUserKeyHistory({ ...base, history: flip(history, 200) }), 'SIGNATURE_INVALID');
    expectCode(() => openPerUserKeyHistory({ ...base, history: flip(history, history.length - 1) }), 'SIGNATURE_INVALID');
    expectCode(() => openPerUserKeyHistory({ ...base, history: flip(history, 0) }), 'UNSUPPORTED_VERSION');
    expectCode(() => openPerUserKeyHistory({ ...base, history: history.subarray(0, history.length - 1) }), 'MALFORMED');
    expectCode(() => openPerUserKeyHistory({ ...base, toEncryptionSecretKey: alice1.encryption.secretKey }), 'DECRYPTION_FAILED');
    expectCode(() => openPerUserKeyHistory({ ...base, expected: new Map([[1, publicKeysOf(gens[0]!)]]) }), 'KEY_MISMATCH');
  });
});

describe('backup key', () => {
  it('formats as 8 groups of 4 and parses back (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (secret) => {
        const text = formatBackupKey(secret);
        expect(text).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
        expect(parseBackupKey(text)).toEqual(secret);
        expect(parseBackupKey(text.toLowerCase().replace(/-/g, ' '))).toEqual(secret);
      }),
    );
  });

  it('reads O as 0 and I/L as 1', () => {
    const { secret, text } = generateBackupKey({ random });
    expect(parseBackupKey(text.replace(/0/g, 'O').replace(/1/g, 'l'))).toEqual(secret);
  });

  it('catches every single-character substitution and adjacent transposition of a key', () => {
    const { text } = generateBackupKey({ random });
    const chars = text.replace(/-/g, '');
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    let caught = 0;
    let total = 0;
    for (let i = 0; i < chars.length; i++) {
      for (const c of alphabet) {
        if (c === chars[i]) continue;
        total++;
        const typo = chars.slice(0, i) + c + chars.slice(i + 1);
        try {
          parseBackupKey(typo);
        } catch (e) {
          if ((e as { code?: string }).code === 'CHECKSUM_MISMATCH' || (e as { code?: string }).code?.startsWith('UNSUPPORTED')) caught++;
        }
      }
      if (i + 1 < chars.length && chars[i] !== chars[i + 1]) {
        total++;
        const t = chars.slice(0, i) + chars[i + 1] + chars[i] + chars.slice(i + 2);
        try {
          parseBackupKey(t);
        } catch {
          caught++;
        }
      }
    }
    expect(caught).toBe(total);
  });

  it('rejects bad length and characters with labels', () => {
    expect(expectCode(() => parseBackupKey('ABCD'), 'INVALID_INPUT').message).toBe('"backupKey" expected 32 characters, got 4');
    expectCode(() => parseBackupKey('U'.repeat(32)), 'INVALID_INPUT');
  });

  it('derives a deterministic virtual device', () => {
    const { secret } = generateBackupKey({ random });
    const a = backupKeyDevice(secret);
    const b = backupKeyDevice(parseBackupKey(formatBackupKey(secret)));
    expect(a.signing.publicKey).toEqual(b.signing.publicKey);
    expect(a.encryption.publicKey).toEqual(b.encryption.publicKey);
    expect(BACKUP_KEY.secretBytes * 8).toBeGreaterThanOrEqual(128);
  });
});

describe('escrow', () => {
  it('boxes the escrow secret to admins, who re-derive the escrow device', () => {
    const escrow = generateEscrowKey({ random });
    const admin = generateDeviceKeys({ random });
    const [b] = boxEscrowKey({ accountId: 'acct', escrow, adminDevices: [{ deviceId: 'admin-dev', encryptionPublicKey: admin.encryption.publicKey }], random });
    const base = { box: b!.box, accountId: 'acct', escrowId: escrow.id, adminDeviceId: 'admin-dev', adminEncryptionSecretKey: admin.encryption.secretKey };
    const opened = openEscrowKeyBox(base);
    expect(opened.device.encryption.publicKey).toEqual(escrow.device.encryption.publicKey);
    expectCode(() => openEscrowKeyBox({ ...base, accountId: 'other' }), 'DECRYPTION_FAILED');
    expectCode(() => openEscrowKeyBox({ ...base, adminDeviceId: 'x' }), 'DECRYPTION_FAILED');
    expectCode(() => openEscrowKeyBox({ ...base, escrowId: flip(escrow.id, 0) }), 'DECRYPTION_FAILED');
  });
});
