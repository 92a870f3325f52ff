/** Property tests (fast-check) for the seal/open pairs not covered elsewhere. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  boxEscrowKey,
  boxPerUserKey,
  boxPerUserKeyHistory,
  createServerBox,
  derivePerUserKey,
  encodeEnvelope,
  generateDeviceKeys,
  generateEscrowKey,
  generateXWingKeyPair,
  openEscrowKeyBox,
  openPerUserKeyBox,
  openPerUserKeyHistory,
  openServerBox,
  publicKeysOf,
} from '../src/index';
import { seededRandom } from './helpers';

const random = seededRandom('roundtrip');
const dev = generateDeviceKeys({ random });
const dev2 = generateDeviceKeys({ random });
const id = fc.string({ minLength: 1, maxLength: 40 });
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const runs = { numRuns: 10 };

describe('seal/open round trips (fast-check)', () => {
  it('PUK seed boxes', () =>
    fc.assert(
      fc.property(id, id, fc.nat(0xffffffff), seed, (userId, deviceId, generation, s) => {
        const puk = derivePerUserKey(s, generation);
        const [b] = boxPerUserKey({ userId, puk, devices: [{ deviceId, encryptionPublicKey: dev.encryption.publicKey }], random });
        const opened = openPerUserKeyBox({ box: b!.box, userId, generation, deviceId, deviceEncryptionSecretKey: dev.encryption.secretKey, expectedPublicKeys: publicKeysOf(puk) });
        expect(opened.seed).toEqual(s);
      }),
      runs,
    ));

  it('PUK history boxes', () =>
    fc.assert(
      fc.property(id, id, id, fc.uniqueArray(fc.nat(0xffffffff), { maxLength: 4 }), (userId, from, to, gens) => {
        const pukList = gens.map((g) => derivePerUserKey(random(32), g));
        const history = boxPerUserKeyHistory({ userId, generations: pukList, fromDeviceId: from, fromSigningSecretKey: dev.signing.secretKey, to: { deviceId: to, encryptionPublicKey: dev2.encryption.publicKey }, random });
        const opened = openPerUserKeyHistory({ history, userId, fromDeviceId: from, fromSigningPublicKey: dev.signing.publicKey, toDeviceId: to, toEncryptionSecretKey: dev2.encryption.secretKey, expected: new Map(pukList.map((p) => [p.generation, publicKeysOf(p)])) });
        expect(opened.map((p) => [p.generation, p.seed])).toEqual(pukList.map((p) => [p.generation, p.seed]));
      }),
      runs,
    ));

  it('escrow boxes', () =>
    fc.assert(
      fc.property(id, id, (accountId, adminDeviceId) => {
        const escrow = generateEscrowKey({ random });
        const [b] = boxEscrowKey({ accountId, escrow, adminDevices: [{ deviceId: adminDeviceId, encryptionPublicKey: dev.encryption.publicKey }], random });
        const opened = openEscrowKeyBox({ box: b!.box, accountId, escrowId: escrow.id, adminDeviceId, adminEncryptionSecretKey: dev.encryption.secretKey });
        expect(opened.secret).toEqual(escrow.secret);
      }),
      runs,
    ));

  it('server boxes', () => {
    const server = generateXWingKeyPair({ random });
    fc.assert(
      fc.property(id, seed, seed, (messageId, mk, h) => {
        const envelope = encodeEnvelope({ messageId, sender: { kind: 'external', address: 'a@b' }, recipients: [], manifestHash: h, bccCommitment: h });
        const box = createServerBox({ envelope, messageKey: mk, serverPublicKey: server.publicKey, random });
        expect(openServerBox({ envelope, box, serverPublicKey: server.publicKey, serverSecretKey: server.secretKey }).messageKey).toEqual(mk);
      }),
      runs,
    );
  });
});
