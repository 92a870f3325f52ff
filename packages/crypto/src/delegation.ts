/**
 * Mailbox keys for delegates (docs/crypto.md §5.14, docs/sigchain.md §3.2). A delegate reads a
 * manager's (or a shared) mailbox with the mailbox's own per-user key generations: each seed is
 * boxed — exactly like a PUK box to a device (§5.4) — to one generation of the delegate's per-user
 * key, with the holder id `delegate/<delegate user id>/<delegate generation>` in the context. So
 * every device the delegate approves can open it, a box cannot be moved to another delegate,
 * generation or mailbox, and the opened keys are checked against the mailbox's verified chain
 * (`KEY_MISMATCH` for a seed the server made up).
 */
import { boxPerUserKey, openPerUserKeyBox, type PerUserKey } from './puk';
import type { PublicKeys } from './keys';
import type { RandomSource } from './_util';

/** The holder id a mailbox key box is bound to (never a device id: those are 64 hex digits). */
export const delegateHolderId = (delegateUserId: string, delegateGeneration: number) => `delegate/${delegateUserId}/${delegateGeneration}`;

/**
 * Boxes one of the mailbox's per-user key generations to a delegate's per-user key generation.
 * @throws {CryptoError} INVALID_INPUT on malformed ids or keys.
 */
export function boxMailboxKey(opts: {
  mailboxUserId: string;
  puk: PerUserKey;
  delegate: { userId: string; generation: number; encryptionPublicKey: Uint8Array };
  random?: RandomSource;
}): { generation: number; delegateGeneration: number; box: Uint8Array } {
  const [b] = boxPerUserKey({
    userId: opts.mailboxUserId,
    puk: opts.puk,
    devices: [{ deviceId: delegateHolderId(opts.delegate.userId, opts.delegate.generation), encryptionPublicKey: opts.delegate.encryptionPublicKey }],
    ...(opts.random ? { random: opts.random } : {}),
  });
  return { generation: b!.generation, delegateGeneration: opts.delegate.generation, box: b!.box };
}

/**
 * Opens a mailbox key box with the delegate's per-user key of the generation it names; the
 * derived keys must be the ones the mailbox's verified chain records for that generation.
 * @throws {CryptoError} DECRYPTION_FAILED (wrong delegate, generation, mailbox or a modified box), KEY_MISMATCH.
 */
export function openMailboxKey(opts: {
  box: Uint8Array;
  mailboxUserId: string;
  generation: number;
  delegateUserId: string;
  delegatePuk: PerUserKey;
  expectedPublicKeys: PublicKeys;
}): PerUserKey {
  return openPerUserKeyBox({
    box: opts.box,
    userId: opts.mailboxUserId,
    generation: opts.generation,
    deviceId: delegateHolderId(opts.delegateUserId, opts.delegatePuk.generation),
    deviceEncryptionSecretKey: opts.delegatePuk.encryption.secretKey,
    expectedPublicKeys: opts.expectedPublicKeys,
  });
}
