/**
 * Replaying a sigchain into the state it proves (docs/sigchain.md §4), and pinning what a client
 * has seen so that a server cannot later show it a shorter or different chain (§6).
 */
import { toHex } from '../encoding';
import { verifyWithContext } from '../ed25519';
import { keyId, type PublicKeys } from '../keys';
import { SigchainError } from './errors';
import { decodeLink, equal, introducedKeys, LinkType, SIGCHAIN, verifyEscrowCertificate, ZERO_HASH, type DelegateEntry, type DeviceKind, type Link } from './link';

export interface DeviceState {
  id: Uint8Array;
  name: string;
  kind: DeviceKind;
  keys: PublicKeys;
  status: 'pending' | 'approved' | 'revoked';
  /** Seqno of the link that added (or requested) the device. */
  addedAt: number;
  /** The time written in that link (ms; the signer's clock, informational). */
  addedTime: number;
  /** Seqno of the link that approved it (the adding link itself for devices added approved). */
  approvedAt?: number;
  /** Seqno and signer's time of the link that revoked it. */
  revokedAt?: number;
  revokedTime?: number;
}

export interface SigchainState {
  userId: string;
  length: number;
  headHash: Uint8Array;
  /** Every device ever in the chain, by hex key id. */
  devices: Map<string, DeviceState>;
  /** PUK generations in order; the last is current. */
  puks: { generation: number; keys: PublicKeys; keyId: Uint8Array; seqno: number }[];
  escrow: DeviceState | null;
  backup: DeviceState | null;
  /** The hash of every link, by seqno (hashes[0] is the root's). */
  hashes: Uint8Array[];
  /** Every delegation grant in the chain, oldest first (docs/sigchain.md §3.2). */
  delegations: DelegationState[];
}

/** A delegation grant and, once revoked, when. */
export interface DelegationState {
  delegate: DelegateEntry;
  /** Seqno of the delegate-grant link. */
  grantedAt: number;
  revokedAt?: number;
  /** The signer's time of the revoking link (informational). */
  revokedTime?: number;
}

/** The grant to `delegateUserId` that is in force at the end of the chain, if any. */
export function activeDelegation(state: SigchainState, delegateUserId: string): DelegationState | undefined {
  return state.delegations.find((d) => d.delegate.userId === delegateUserId && d.revokedAt === undefined);
}

/**
 * The grant to `delegateUserId` in force at chain position `length` (the chain then had `length`
 * links) that gives `right` — granted by a link before that position and not revoked by one.
 */
export function delegationAt(state: SigchainState, delegateUserId: string, length: number, right: 'read' | 'send'): DelegationState | undefined {
  const bit = right === 'send' ? 2 : 1;
  return state.delegations.find((d) => d.delegate.userId === delegateUserId && d.grantedAt < length && !(d.revokedAt !== undefined && d.revokedAt < length) && (d.delegate.rights & bit) === bit);
}

/** What a client remembers of a chain it verified. */
export interface SigchainPin {
  length: number;
  headHash: Uint8Array;
}

const fail = (code: ConstructorParameters<typeof SigchainError>[0], message: string, seqno?: number): never => {
  throw new SigchainError(code, message, seqno);
};

/** The current per-user key generation of a replayed chain. */
export function currentPuk(state: SigchainState) {
  return state.puks[state.puks.length - 1]!;
}

/** Active devices (approved or pending, not revoked), virtual ones included. */
export function activeDevices(state: SigchainState): DeviceState[] {
  return [...state.devices.values()].filter((d) => d.status !== 'revoked');
}

/** Approved, unrevoked devices (virtual ones included): the ones that receive new per-user keys. */
export function approvedDevices(state: SigchainState): DeviceState[] {
  return [...state.devices.values()].filter((d) => d.status === 'approved');
}

/**
 * Whether `device` could sign at chain position `length` (the chain then had `length` links):
 * approved by a link before that position and not revoked by one (docs/sigchain.md §4.1).
 */
export function deviceActiveAt(device: DeviceState, length: number): boolean {
  return device.approvedAt !== undefined && device.approvedAt < length && !(device.revokedAt !== undefined && device.revokedAt < length);
}

/**
 * Verifies a whole chain and returns its state. `pin` is what this client saw before (if any).
 * @throws SigchainError BAD_SIGNATURE, BROKEN_HASH_LINK, SEQUENCE_GAP, SIGNER_NOT_ACTIVE,
 *   REVOKED_SIGNER, WRONG_USER, INVALID_LINK, ROLLBACK, FORK; CryptoError MALFORMED /
 *   UNSUPPORTED_* for undecodable links.
 */
export function replaySigchain(encoded: Uint8Array[], opts: { userId: string; pin?: SigchainPin }): SigchainState {
  if (encoded.length === 0) fail('INVALID_LINK', 'empty chain');
  const links = encoded.map((b) => decodeLink(b));
  if (opts.pin) checkPin(links, opts.pin);
  const state: SigchainState = { userId: opts.userId, length: 0, headHash: ZERO_HASH, devices: new Map(), puks: [], escrow: null, backup: null, hashes: [], delegations: [] };
  for (const link of links) applyLink(state, link);
  return state;
}

function checkPin(links: Link[], pin: SigchainPin): void {
  if (links.length < pin.length) fail('ROLLBACK', `the chain has ${links.length} links; ${pin.length} were seen before`);
  if (!equal(links[pin.length - 1]!.hash, pin.headHash)) fail('FORK', 'the chain differs from the one seen before', pin.length - 1);
}

/** Compares a freshly replayed state with a pin (for a client that replays from scratch). */
export function pinOf(state: SigchainState): SigchainPin {
  return { length: state.length, headHash: state.headHash };
}

function applyLink(state: SigchainState, link: Link): void {
  const n = link.seqno;
  if (link.userId !== state.userId) fail('WRONG_USER', `link ${n} belongs to another user`, n);
  if (n !== state.length) fail('SEQUENCE_GAP', `expected link ${state.length}, got ${n}`, n);
  if (!equal(link.prev, state.headHash)) fail('BROKEN_HASH_LINK', `link ${n} does not follow the previous link`, n);
  const body = link.body;
  const isRoot = body.type === LinkType.Root;
  if (isRoot !== (n === 0)) fail('INVALID_LINK', n === 0 ? 'the first link must be a root' : 'a root may only come first', n);

  // Who signs: an approved, unrevoked device; or, for a root or a device requesting to join,
  // the device in the link. A device never adds itself with a key generation: it asks
  // (device-request, pending, no per-user key) and gets one only when approved.
  const signerHex = toHex(link.signer);
  const known = state.devices.get(signerHex);
  let signerKeys: PublicKeys;
  let resultingStatus: DeviceState['status'] = 'approved';
  if (known) {
    if (known.status === 'revoked') fail('REVOKED_SIGNER', `link ${n} is signed by a device revoked at link ${known.revokedAt}`, n);
    if (known.status !== 'approved') fail('SIGNER_NOT_ACTIVE', `link ${n} is signed by a device that is not approved`, n);
    signerKeys = known.keys;
  } else if ((body.type === LinkType.Root || body.type === LinkType.DeviceRequest) && equal(keyId(body.device.keys), link.signer)) {
    signerKeys = body.device.keys;
    if (body.type === LinkType.DeviceRequest) resultingStatus = 'pending'; // another device must approve
  } else {
    fail('SIGNER_NOT_ACTIVE', `link ${n} is signed by a key that is not a device of this user`, n);
  }

  // Signatures: the signer's first, then one by each key the link introduces.
  const required = [signerKeys!, ...introducedKeys(body).filter((k) => !equal(keyId(k), link.signer))];
  if (link.signatures.length !== required.length) fail('BAD_SIGNATURE', `link ${n} has ${link.signatures.length} signatures, needs ${required.length}`, n);
  required.forEach((keys, i) => {
    const s = link.signatures[i]!;
    if (!equal(s.keyId, keyId(keys)) || !verifyWithContext(keys.signingPublicKey, SIGCHAIN.context, link.payload, s.signature)) {
      fail('BAD_SIGNATURE', `link ${n}: a signature does not verify`, n);
    }
  });

  const addDevice = (d: { name: string; kind: DeviceKind; keys: PublicKeys }, status: DeviceState['status']) => {
    const id = keyId(d.keys);
    if (state.devices.has(toHex(id))) fail('INVALID_LINK', `link ${n} adds a device that is already in the chain`, n);
    const dev: DeviceState = { id, name: d.name, kind: d.kind, keys: d.keys, status, addedAt: n, addedTime: link.time, ...(status === 'approved' ? { approvedAt: n } : {}) };
    state.devices.set(toHex(id), dev);
    return dev;
  };
  const addPuk = (p: { generation: number; keys: PublicKeys }) => {
    const expected = state.puks.length ? state.puks[state.puks.length - 1]!.generation + 1 : 1;
    if (p.generation !== expected) fail('INVALID_LINK', `link ${n} introduces per-user key generation ${p.generation}, expected ${expected}`, n);
    state.puks.push({ generation: p.generation, keys: p.keys, keyId: keyId(p.keys), seqno: n });
  };
  const target = (id: Uint8Array) => {
    const d = state.devices.get(toHex(id));
    if (!d || d.status === 'revoked') fail('INVALID_LINK', `link ${n} names a device that is not active`, n);
    return d!;
  };

  switch (body.type) {
    case LinkType.Root:
    case LinkType.DeviceAdd:
    case LinkType.DeviceRequest:
      if (body.device.kind === 'backup' || body.device.kind === 'escrow') fail('INVALID_LINK', `link ${n}: virtual devices have their own link types`, n);
      addDevice(body.device, resultingStatus);
      if (body.type !== LinkType.DeviceRequest) addPuk(body.puk);
      break;
    case LinkType.DeviceApprove: {
      const d = target(body.deviceId);
      if (d.status !== 'pending') fail('INVALID_LINK', `link ${n} approves a device that is not pending`, n);
      d.status = 'approved';
      d.approvedAt = n;
      addPuk(body.puk);
      break;
    }
    case LinkType.DeviceRevoke:
    case LinkType.EscrowRemove: {
      const d = target(body.deviceId);
      if ((body.type === LinkType.EscrowRemove) !== (d.kind === 'escrow')) fail('INVALID_LINK', `link ${n}: escrow devices leave by escrow-remove, others by device-revoke`, n);
      d.status = 'revoked';
      d.revokedAt = n;
      d.revokedTime = link.time;
      if (state.escrow === d) state.escrow = null;
      if (state.backup === d) state.backup = null;
      addPuk(body.puk);
      break;
    }
    case LinkType.PukRotate:
      addPuk(body.puk);
      break;
    case LinkType.BackupAdd:
      if (body.device.kind !== 'backup') fail('INVALID_LINK', `link ${n}: backup-add must add a backup device`, n);
      if (state.backup) fail('INVALID_LINK', `link ${n}: a backup key is already present`, n);
      state.backup = addDevice(body.device, 'approved');
      break;
    case LinkType.EscrowAdd:
      if (body.device.kind !== 'escrow') fail('INVALID_LINK', `link ${n}: escrow-add must add an escrow device`, n);
      if (state.escrow) fail('INVALID_LINK', `link ${n}: escrow is already present`, n);
      if (!verifyEscrowCertificate(body.device.keys, body.accountId, body.certificate)) fail('BAD_SIGNATURE', `link ${n}: the escrow certificate does not verify`, n);
      state.escrow = addDevice(body.device, 'approved');
      break;
    case LinkType.DelegateGrant: {
      const d = body.delegate;
      if (d.userId === state.userId) fail('INVALID_LINK', `link ${n}: a user cannot delegate to themselves`, n);
      if (d.chain.length < 1) fail('INVALID_LINK', `link ${n}: a grant names the delegate's key history as the granting device verified it`, n);
      if (state.delegations.some((g) => g.delegate.userId === d.userId && g.revokedAt === undefined)) fail('INVALID_LINK', `link ${n}: ${d.address} already holds a grant (revoke it first)`, n);
      state.delegations.push({ delegate: d, grantedAt: n });
      break;
    }
    case LinkType.DelegateRevoke: {
      const g = state.delegations.find((x) => x.delegate.userId === body.delegateUserId && x.revokedAt === undefined);
      if (!g) fail('INVALID_LINK', `link ${n} revokes a grant that is not in force`, n);
      g!.revokedAt = n;
      g!.revokedTime = link.time;
      addPuk(body.puk);
      break;
    }
  }
  state.length = n + 1;
  state.headHash = link.hash;
  state.hashes.push(link.hash);
}
