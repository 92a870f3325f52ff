/**
 * Escrow ("device-managed encryption") — docs/crypto.md §3.5.
 *
 * An account's escrow key is a 32-byte secret from which a virtual device's key pairs are derived
 * under the label `"sealmail/v1/escrow"`. The secret is boxed to each escrow admin's device
 * (box purpose `"escrow-secret"`, context binding account id, escrow key id and admin device id).
 * The escrow device is then added to every user's sigchain like any device and receives PUK boxes.
 */
import { CryptoError } from './errors';
import { ByteWriter } from './encoding';
import { abytes, astring, randomBytes, type RandomSource } from './_util';
import { openBox, sealBox } from './box';
import { deriveKeySet, keyId, publicKeysOf, type KeySet } from './keys';
import type { BoxRecipient } from './puk';

/** Label from which escrow device keys are derived (docs/crypto.md §6). */
export const ESCROW_LABEL = 'sealmail/v1/escrow';

/** An escrow key: its secret and the virtual device derived from it. */
export interface EscrowKey {
  readonly secret: Uint8Array;
  readonly device: KeySet;
  /** {@link keyId} of the device's public keys. */
  readonly id: Uint8Array;
}

/**
 * Derives the escrow virtual device from its 32-byte secret.
 * @throws {CryptoError} INVALID_INPUT when `secret` is not 32 bytes.
 */
export function escrowKeyFromSecret(secret: Uint8Array): EscrowKey {
  abytes(secret, 'secret', 32);
  const device = deriveKeySet(secret, ESCROW_LABEL);
  return { secret: Uint8Array.from(secret), device, id: keyId(publicKeysOf(device)) };
}

/**
 * Generates a new escrow key for an account.
 * @throws {CryptoError} INVALID_INPUT when `random` misbehaves.
 */
export function generateEscrowKey(opts: { random?: RandomSource } = {}): EscrowKey {
  return escrowKeyFromSecret(randomBytes(opts.random, 32));
}

const escrowContext = (accountId: string, escrowId: Uint8Array, adminDeviceId: string) =>
  new ByteWriter().str('escrow-secret').str(astring(accountId, 'accountId')).raw(abytes(escrowId, 'escrowId', 32)).str(astring(adminDeviceId, 'adminDeviceId')).finish();

/**
 * Boxes the escrow secret to each escrow admin's device.
 * @throws {CryptoError} INVALID_INPUT on malformed ids or keys.
 */
export function boxEscrowKey(opts: {
  accountId: string;
  escrow: EscrowKey;
  adminDevices: readonly BoxRecipient[];
  random?: RandomSource;
}): { deviceId: string; box: Uint8Array }[] {
  return opts.adminDevices.map((d) => ({
    deviceId: d.deviceId,
    box: sealBox({
      recipientPublicKey: d.encryptionPublicKey,
      purpose: 'escrow-secret',
      context: escrowContext(opts.accountId, opts.escrow.id, d.deviceId),
      plaintext: opts.escrow.secret,
      random: opts.random,
    }),
  }));
}

/**
 * Opens an escrow box on an admin's device and re-derives the escrow device; the derived key id
 * must equal `escrowId` (as published in the account's records).
 * @throws {CryptoError} DECRYPTION_FAILED, KEY_MISMATCH, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT.
 */
export function openEscrowKeyBox(opts: {
  box: Uint8Array;
  accountId: string;
  escrowId: Uint8Array;
  adminDeviceId: string;
  adminEncryptionSecretKey: Uint8Array;
}): EscrowKey {
  const secret = openBox({
    box: opts.box,
    recipientSecretKey: opts.adminEncryptionSecretKey,
    purpose: 'escrow-secret',
    context: escrowContext(opts.accountId, opts.escrowId, opts.adminDeviceId),
  });
  if (secret.length !== 32) throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
  const escrow = escrowKeyFromSecret(secret);
  secret.fill(0);
  const a = escrow.id;
  const b = opts.escrowId;
  let d = 0;
  for (let i = 0; i < 32; i++) d |= a[i]! ^ b[i]!;
  if (d !== 0) throw new CryptoError('KEY_MISMATCH', 'escrow key does not match the expected id');
  return escrow;
}
