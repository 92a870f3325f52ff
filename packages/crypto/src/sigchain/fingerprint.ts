/**
 * Short fingerprints people compare on two screens (docs/sigchain.md §7): 20 decimal digits in
 * five groups of four, from 64 bits of a labelled SHA-256 — enough that a server cannot find a
 * colliding key in any feasible time (2^64 work for one target).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, i2osp, utf8 } from '../_util';
import { keyId, type PublicKeys } from '../keys';
import type { SigchainState } from './replay';

function digits(label: string, data: Uint8Array): string {
  const h = sha256(concat(utf8(`sealmail/v1/fingerprint/${label}\0`), data));
  let n = 0n;
  for (const b of h.subarray(0, 8)) n = (n << 8n) | BigInt(b);
  const s = (n % 10n ** 20n).toString().padStart(20, '0');
  return s.match(/.{4}/g)!.join(' ');
}

/** Fingerprint of a device's public keys. */
export function deviceFingerprint(keys: PublicKeys): string {
  return digits('device', keyId(keys));
}

/** Fingerprint of a chain's head (changes with every link). */
export function chainFingerprint(state: Pick<SigchainState, 'userId' | 'length' | 'headHash'>): string {
  return digits('chain', concat(utf8(state.userId), i2osp(state.length, 4), state.headHash));
}

/**
 * A user's safety number (docs/sigchain.md §7): what two people compare to know they see the same
 * key history for that user. It covers the user id, the chain's root and the set of approved
 * devices (real and virtual), so it changes exactly when a device is approved or revoked, escrow
 * joins or leaves, or the history is reset — not with every per-user-key rotation.
 */
export function safetyNumber(state: Pick<SigchainState, 'userId' | 'devices' | 'hashes'>): string {
  const ids = [...state.devices.values()]
    .filter((d) => d.status === 'approved')
    .map((d) => keyId(d.keys))
    .sort((a, b) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return 0;
    });
  const user = utf8(state.userId);
  return digits('safety', concat(i2osp(user.length, 2), user, state.hashes[0] ?? new Uint8Array(32), i2osp(ids.length, 2), ...ids));
}
