/**
 * Devices and keys, implemented once for the web client, admin console and CLI (MISSION §3):
 * first-device setup with a backup key, adding this device, listing, approving and revoking
 * devices, and recovery with the backup key. Every chain is verified with the crypto package
 * and pinned in the key store before it is used; the server only ever sees public keys, signed
 * links and boxes.
 */
import {
  approvedDevices,
  backupKeyDevice,
  boxPerUserKey,
  boxPerUserKeyHistory,
  createLink,
  CryptoError,
  decodePublicKeys,
  deviceFingerprint,
  ed25519KeyPairFromSeed,
  fromBase64Url,
  fromHex,
  generateBackupKey,
  generateDeviceKeys,
  generatePerUserKey,
  hashLink,
  keyId,
  LinkType,
  openPerUserKeyBox,
  openPerUserKeyHistory,
  parseBackupKey,
  publicKeysOf,
  replaySigchain,
  safetyNumber,
  SigchainError,
  signSessionBinding,
  toBase64Url,
  toHex,
  verifyEscrowCertificate,
  verifyEscrowEndorsement,
  xwingKeyPairFromSeed,
  type DeviceKind,
  type DeviceState,
  type KeySet,
  type LinkBody,
  type PerUserKey,
  type SigchainPin,
  type SigchainState,
} from '@sealmail/crypto';
import { ApiClientError, type ApiClient } from './api';

/** What a device keeps of itself: its secret seeds (never sent anywhere). */
export interface StoredDevice {
  userId: string;
  address: string;
  deviceId: string;
  name: string;
  kind: DeviceKind;
  signingSeed: string;
  encryptionSeed: string;
}

/**
 * What a client remembers of a correspondent's key history (docs/sigchain.md §6): which account
 * the address belongs to, the chain's root, and how far it has seen it. Kept under the address
 * and under the user id, so that neither can silently come to mean another account.
 */
/** What the key directory answers for one address (`GET /keys/:address/sigchain`, or one entry of the batch). */
export type SigchainAnswer = Awaited<ReturnType<ApiClient['sigchain']>>;

/** A chain this client verified (and pinned) for an address. */
export interface VerifiedChain {
  userId: string;
  links: Uint8Array[];
  state: SigchainState | null;
  storedAt: readonly string[];
  address: string;
}

export interface ChainPin {
  address: string;
  userId: string;
  length: number;
  headHash: string;
  rootHash: string;
  /** The safety number the user compared with this person and marked verified. */
  verified?: string;
}

/** Where a client keeps its device secrets and what it has verified (IndexedDB, a file, …). */
export interface KeyStore {
  loadDevice(address: string): Promise<StoredDevice | null>;
  saveDevice(device: StoredDevice): Promise<void>;
  /** Pins and consents by key (`address:…`, `user:…`, `escrow:…`). Must fail, not forget, when its storage is damaged. */
  loadRecord<T>(key: string): Promise<T | null>;
  saveRecord(key: string, value: unknown): Promise<void>;
}

/** A key store that lives as long as the process (tests, one-off tools). */
export function memoryKeyStore(): KeyStore {
  const devices = new Map<string, StoredDevice>();
  const records = new Map<string, string>();
  return {
    loadDevice: async (address) => devices.get(address.toLowerCase()) ?? null,
    saveDevice: async (d) => void devices.set(d.address.toLowerCase(), d),
    loadRecord: async <T>(key: string) => (records.has(key) ? (JSON.parse(records.get(key)!) as T) : null),
    saveRecord: async (key, value) => void records.set(key, JSON.stringify(value)),
  };
}

/**
 * A correspondent's key history does not match what this client verified before: the address
 * now names another account, the chain was rolled back or forked. Nothing is encrypted to them
 * until it is resolved (docs/sigchain.md §6).
 */
export class TrustError extends Error {
  override readonly name = 'TrustError';
  constructor(
    readonly code: 'IDENTITY_CHANGED' | 'ROLLBACK' | 'FORK' | 'RESET',
    message: string,
    readonly address: string,
  ) {
    super(message);
  }
}

export interface DeviceView {
  id: string;
  name: string;
  kind: DeviceKind;
  status: 'pending' | 'approved' | 'revoked';
  fingerprint: string;
  thisDevice: boolean;
  /** When the device was added or asked to join (its own clock; informational). */
  requestedAt: number;
  /** A request older than 7 days: it can only be rejected. */
  expired: boolean;
}

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly code: 'NO_DEVICE' | 'UNKNOWN_DEVICE' | 'NOT_PENDING' | 'REQUEST_EXPIRED' | 'ALREADY_SET_UP' | 'WRONG_BACKUP_KEY' | 'ESCROW_INVALID' | 'NO_ESCROW_KEY',
    message: string,
  ) {
    super(message);
  }
}

function keySetOf(d: StoredDevice): KeySet {
  return { signing: ed25519KeyPairFromSeed(fromBase64Url(d.signingSeed)), encryption: xwingKeyPairFromSeed(fromBase64Url(d.encryptionSeed)) };
}

function storedOf(keys: KeySet, base: Omit<StoredDevice, 'signingSeed' | 'encryptionSeed' | 'deviceId'>): StoredDevice {
  return { ...base, deviceId: toHex(keyId(publicKeysOf(keys))), signingSeed: toBase64Url(keys.signing.secretKey), encryptionSeed: toBase64Url(keys.encryption.secretKey) };
}

/** The one device of a chain whose id starts with `idOrPrefix` or whose fingerprint it is. */
export function resolveDevice(state: SigchainState, idOrPrefix: string) {
  const matches = [...state.devices.values()].filter((d) => toHex(d.id).startsWith(idOrPrefix.toLowerCase()) || deviceFingerprint(d.keys) === idOrPrefix);
  if (matches.length !== 1) throw new IdentityError('UNKNOWN_DEVICE', `No single device matches "${idOrPrefix}".`);
  return matches[0]!;
}

export const pukEntry = (p: PerUserKey) => ({ generation: p.generation, keys: publicKeysOf(p) });

/** How long a device's request to join may wait (the server refuses older approvals too). */
export const DEVICE_REQUEST_TTL_MS = 7 * 24 * 3600 * 1000;

const boxTarget = (d: DeviceState) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey });

/**
 * What approving a pending device takes (docs/sigchain.md §3): a device-approve link that brings
 * the next key generation — boxed to every approved device and the newcomer — and one history box,
 * signed by the approving (possibly virtual) device, with every older generation for the newcomer.
 */
export function approvalOf(opts: { userId: string; state: SigchainState; target: DeviceState; signer: { keys: KeySet; deviceId: string }; generations: readonly PerUserKey[]; now: number }) {
  const { userId, state, target } = opts;
  if (target.status !== 'pending') throw new IdentityError('NOT_PENDING', `${target.name} is not waiting for approval.`);
  if (opts.now - target.addedTime > DEVICE_REQUEST_TTL_MS) throw new IdentityError('REQUEST_EXPIRED', `${target.name} asked to join more than 7 days ago: reject it, and ask again from that device.`);
  const puk = generatePerUserKey(state.puks.length + 1);
  const body: LinkBody = { type: LinkType.DeviceApprove, deviceId: target.id, puk: pukEntry(puk) };
  const boxes = boxPerUserKey({ userId, puk, devices: [...approvedDevices(state).map(boxTarget), boxTarget(target)] });
  const historyBox = boxPerUserKeyHistory({ userId, generations: opts.generations, fromDeviceId: opts.signer.deviceId, fromSigningSecretKey: opts.signer.keys.signing.secretKey, to: boxTarget(target) });
  return { body, newKeys: [puk], boxes, historyBox };
}

/** A user's safety number as this client sees it, and whether it is the one they verified. */
export interface SafetyNumberView {
  address: string;
  number: string;
  /** The user compared it with this person and marked it verified. */
  verified: boolean;
  /** It was verified before and has changed since (a device came or went, or someone is lying). */
  changedSinceVerified: boolean;
}

/** Where escrow stands for this user, before the escrow device joins their chain (docs/sigchain.md §3.1). */
export type EscrowStatus =
  | { state: 'off' }
  | { state: 'in-chain'; fingerprint: string }
  | { state: 'needs-consent'; fingerprint: string; endorsedBy: string; changed: boolean }
  | { state: 'not-yet' };

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class Identity {
  constructor(
    private readonly api: ApiClient,
    private readonly store: KeyStore,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * A user's verified chain. The pin from last time must still hold (rollback/fork refused);
   * the new head is pinned.
   * @throws SigchainError ROLLBACK / FORK / any replay error: do not encrypt to this user.
   */
  async verifiedChain(address: string, answered?: SigchainAnswer): Promise<VerifiedChain> {
    if (answered) return this.verifyChain(address, answered);
    // Callers that ask for the same address at the same time (the set-up, folders, labels, keys
    // and rows of a first view each ask for the user's own) share one fetch and one verification.
    // One started before this client wrote to a chain or a pin is not joined: its answer may
    // predate that write.
    const addr = address.trim().toLowerCase();
    const running = this.verifying.get(addr);
    if (running && running.writes === this.chainWrites) return running.chain;
    const entry = { writes: this.chainWrites, chain: this.verifyChain(addr) };
    this.verifying.set(addr, entry);
    const done = () => {
      if (this.verifying.get(addr) === entry) this.verifying.delete(addr);
    };
    entry.chain.then(done, done);
    return entry.chain;
  }

  /** Verifications under way by address, and the count of this client's chain and pin writes they started after. */
  private readonly verifying = new Map<string, { writes: number; chain: Promise<VerifiedChain> }>();
  private chainWrites = 0;

  private async verifyChain(address: string, answered?: SigchainAnswer): Promise<VerifiedChain> {
    const addr = address.trim().toLowerCase();
    const { userId, links, resets, storedAt, primary } = answered ?? (await this.api.sigchain(addr).catch((err: unknown) => this.refuseIfKnown(addr, err)));
    if (primary && primary.toLowerCase() !== addr) return this.verifiedAlias(addr, userId, primary.toLowerCase());
    const bytes = links.map(fromBase64Url);
    // The address must still be the account it was, and that account still this address.
    const saved = await this.store.loadRecord<ChainPin>(`address:${addr}`);
    if (saved && saved.userId !== userId) throw new TrustError('IDENTITY_CHANGED', `The server now says ${addr} is another account than the one you verified before. Nothing is sent to it or trusted from it until this is resolved.`, addr);
    const owner = await this.store.loadRecord<ChainPin>(`user:${userId}`);
    if (owner && owner.address !== addr) throw new TrustError('IDENTITY_CHANGED', `The server says ${addr} is the account you know as ${owner.address}. Nothing is sent to it or trusted from it until this is resolved.`, addr);
    // The user started afresh since this client pinned them: shown as a reset, never taken silently.
    if (saved && saved.length > 0 && (bytes.length === 0 || toHex(hashLink(bytes[0]!)) !== saved.rootHash)) {
      const reset = resets.find((r) => r.oldRoot === saved.rootHash && r.oldLength >= saved.length);
      if (reset) throw new TrustError('RESET', `${addr} started their key history afresh on ${new Date(reset.at).toLocaleString()} (every device and key of theirs was replaced). Compare their safety number with them, then accept their new keys.`, addr);
    }
    const pin: SigchainPin | undefined = saved && saved.length > 0 ? { length: saved.length, headHash: fromHex(saved.headHash) } : undefined;
    if (bytes.length === 0) {
      if (pin) throw new TrustError('ROLLBACK', `The server shows no key history for ${addr}, though you saw ${pin.length} links of it before.`, addr);
      return { userId, links: bytes, state: null, storedAt, address: addr };
    }
    let state: SigchainState;
    try {
      state = this.replayed(bytes, userId, pin);
    } catch (err) {
      if (err instanceof SigchainError && err.code === 'ROLLBACK') throw new TrustError('ROLLBACK', `The server shows an older key history for ${addr} than you saw before (${bytes.length} links, you saw ${pin!.length}).`, addr);
      if (err instanceof SigchainError && err.code === 'FORK') throw new TrustError('FORK', `The server shows a different key history for ${addr} than the one you saw before: someone may be shown a false one.`, addr);
      throw err;
    }
    const next: ChainPin = { address: addr, userId, length: state.length, headHash: toHex(state.headHash), rootHash: toHex(state.hashes[0]!), ...(saved?.verified && saved.length > 0 ? { verified: saved.verified } : {}) };
    if (!saved || saved.length !== next.length || saved.headHash !== next.headHash) {
      await this.store.saveRecord(`address:${addr}`, next);
      await this.store.saveRecord(`user:${userId}`, next);
    }
    return { userId, links: bytes, state, storedAt, address: addr };
  }

  /**
   * Several users' verified chains from one directory request (`POST /keys/sigchains`), in the
   * order asked. Each answer goes through exactly the checks of `verifiedChain` (identity, reset,
   * pin, full replay) and is pinned the same way; one refused chain refuses only its address. An
   * address the server lists as missing fails as the single lookup does (ApiClientError
   * NOT_FOUND); one it neither answers nor lists fails as a bad response.
   */
  async verifiedChains(addresses: readonly string[]): Promise<PromiseSettledResult<VerifiedChain>[]> {
    const asked = addresses.map((a) => a.trim().toLowerCase());
    let answer: { chains: SigchainAnswer[]; missing: string[] };
    try {
      answer = await this.api.sigchains([...new Set(asked)]);
    } catch (err) {
      return asked.map(() => ({ status: 'rejected', reason: err }));
    }
    const byAddress = new Map<string, SigchainAnswer>();
    // Only an answer under the very address asked counts; a second one for it is ignored.
    for (const c of answer.chains) if (!byAddress.has(c.address.toLowerCase())) byAddress.set(c.address.toLowerCase(), c);
    const missing = new Set(answer.missing.map((a) => a.toLowerCase()));
    // One after another: the work is CPU-bound anyway, and key stores then see one pin write at a
    // time (the CLI's atomic file writes collided when several landed in the same millisecond).
    const results: PromiseSettledResult<VerifiedChain>[] = [];
    for (const addr of asked) {
      try {
        const c = byAddress.get(addr);
        if (c) results.push({ status: 'fulfilled', value: await this.verifiedChain(addr, c) });
        else if (missing.has(addr)) await this.refuseIfKnown(addr, new ApiClientError(404, 'NOT_FOUND', `No key history for ${addr}.`));
        else throw new ApiClientError(200, 'BAD_RESPONSE', `The server did not answer for ${addr}.`);
      } catch (reason) {
        results.push({ status: 'rejected', reason });
      }
    }
    return results;
  }

  /**
   * The server answered that `addr` has no account (`NOT_FOUND`): rethrows that, unless this
   * client pinned `addr` as an account (or as an alias of one) before. A known colleague the
   * directory now calls missing is a history the server withholds, never an outside address:
   * taken as "outside", a send would go to them as an expiring link or standard mail the server
   * can read (docs/sigchain.md §6). An account really removed cannot receive mail anyway.
   */
  private async refuseIfKnown(addr: string, err: unknown): Promise<never> {
    if (err instanceof ApiClientError && err.code === 'NOT_FOUND') {
      const pin = await this.store.loadRecord<ChainPin>(`address:${addr}`);
      const alias = pin ? null : await this.store.loadRecord<{ userId: string }>(`alias:${addr}`);
      if (pin || alias) {
        const seen = pin && pin.length > 0 ? `, though you saw ${pin.length} links of it before` : ', though it was an account you knew before';
        throw new TrustError('ROLLBACK', `The key directory now shows no key history for ${addr}${seen}: nothing is sent to them as outside mail, and mail from them cannot be attributed to them. If they left, or their organisation stopped sharing keys with yours, this is expected.`, addr);
      }
    }
    throw err;
  }

  /** Chains this instance replayed, by user: the same bytes give the same state (a hash chain). */
  private readonly replays = new Map<string, { links: Uint8Array[]; state: SigchainState }>();

  /**
   * `replaySigchain`, skipping the signature checks when the server sent exactly the links this
   * instance already replayed for the user (compared byte for byte); the pin is checked either way.
   * Sending to ten people then costs ten fetches, not ten chain verifications (docs/performance.md).
   */
  private replayed(bytes: Uint8Array[], userId: string, pin: SigchainPin | undefined): SigchainState {
    const hit = this.replays.get(userId);
    if (hit && hit.links.length === bytes.length && hit.links.every((l, i) => sameBytes(l, bytes[i]!))) {
      if (pin && (hit.state.length < pin.length || !sameBytes(hit.state.hashes[pin.length - 1]!, pin.headHash))) {
        return replaySigchain(bytes, { userId, pin }); // throws ROLLBACK / FORK as a fresh replay would
      }
      return hit.state;
    }
    const state = replaySigchain(bytes, { userId, ...(pin ? { pin } : {}) });
    this.replays.set(userId, { links: bytes, state });
    return state;
  }

  /**
   * An alias (or +tag form) of a user's address (docs/mail.md "Aliases and send-as"): the
   * directory answers it with the user's id and names their own address; the chain is verified
   * (and pinned) under that address, must be the same user, and the alias is pinned to that user
   * on first sight. Should the server later answer the alias with another user, that is refused
   * like any changed identity.
   */
  private async verifiedAlias(alias: string, userId: string, primary: string) {
    const saved = await this.store.loadRecord<{ userId: string }>(`alias:${alias}`);
    if (saved && saved.userId !== userId) throw new TrustError('IDENTITY_CHANGED', `The server now says ${alias} belongs to another account than the one you saw before. Nothing is sent to it or trusted from it until this is resolved.`, alias);
    const own = await this.store.loadRecord<ChainPin>(`address:${alias}`);
    if (own && own.userId !== userId) throw new TrustError('IDENTITY_CHANGED', `The server now says ${alias} is an alias of another account than the one you verified before. Nothing is sent to it or trusted from it until this is resolved.`, alias);
    const chain = await this.verifiedChain(primary);
    if (chain.userId !== userId) throw new TrustError('IDENTITY_CHANGED', `The server says ${alias} is an alias of ${primary}, but answers ${primary} with another account.`, alias);
    if (!saved) await this.store.saveRecord(`alias:${alias}`, { userId });
    return chain;
  }

  /**
   * Accepts that `address` started their key history afresh (docs/sigchain.md §6.1), after the
   * user compared their new safety number: the old pin gives way to the new history. Only a reset
   * the server recorded against the history this client pinned is accepted; anything else stays a
   * fork or rollback.
   */
  async acceptReset(address: string): Promise<void> {
    const addr = address.trim().toLowerCase();
    const saved = await this.store.loadRecord<ChainPin>(`address:${addr}`);
    const { userId, resets } = await this.api.sigchain(addr);
    if (!saved || saved.userId !== userId || !resets.some((r) => r.oldRoot === saved.rootHash && r.oldLength >= saved.length)) {
      throw new TrustError('FORK', `The server records no reset of the key history you saw for ${addr}.`, addr);
    }
    const fresh: ChainPin = { address: addr, userId, length: 0, headHash: '', rootHash: '' };
    this.chainWrites++;
    await this.store.saveRecord(`address:${addr}`, fresh);
    await this.store.saveRecord(`user:${userId}`, fresh);
    await this.verifiedChain(addr);
  }

  /**
   * Starts this user's own key history afresh, for someone with no device, backup key or escrow
   * left: the server keeps what the old history was (correspondents see the reset), every old
   * device and key goes, and this device becomes the first device of a new history (with a new
   * backup key). Mail sealed to the old keys can no longer be read by anyone.
   */
  async startAfresh(opts: { address: string; password: string; totp?: string; name: string; kind: 'browser' | 'cli' }) {
    await this.api.resetKeyHistory(opts.password, opts.totp ? { totp: opts.totp } : {});
    const addr = opts.address.trim().toLowerCase();
    const saved = await this.store.loadRecord<ChainPin>(`address:${addr}`);
    if (saved) await this.acceptReset(addr);
    return this.setUpThisDevice({ address: opts.address, name: opts.name, kind: opts.kind });
  }

  /** The address this client has pinned to a user id (its verified owner), if any. */
  async pinnedAddressOf(userId: string): Promise<string | null> {
    return (await this.store.loadRecord<ChainPin>(`user:${userId}`))?.address ?? null;
  }

  /** The account this device pinned `address` to (as the account's address or as an alias of it), or null. */
  async pinnedUserOf(address: string): Promise<string | null> {
    const addr = address.trim().toLowerCase();
    return (await this.store.loadRecord<ChainPin>(`address:${addr}`))?.userId ?? (await this.store.loadRecord<{ userId: string }>(`alias:${addr}`))?.userId ?? null;
  }

  /** A correspondent's (or one's own) safety number, verified against the pinned chain. */
  async safetyNumber(address: string): Promise<SafetyNumberView> {
    const { state } = await this.verifiedChain(address);
    if (!state) throw new IdentityError('NO_DEVICE', `${address} has no keys yet.`);
    return this.safetyOf(address, state);
  }

  /** The safety number of a chain this client just verified for `address`, against what the user marked verified. */
  async safetyOf(address: string, state: SigchainState): Promise<SafetyNumberView> {
    const number = safetyNumber(state);
    const pin = await this.store.loadRecord<ChainPin>(`address:${address.trim().toLowerCase()}`);
    return { address: address.trim().toLowerCase(), number, verified: pin?.verified === number, changedSinceVerified: !!pin?.verified && pin.verified !== number };
  }

  /** Marks the safety number the user just compared as verified; a later change is flagged. */
  async markVerified(address: string, number: string): Promise<SafetyNumberView> {
    const addr = address.trim().toLowerCase();
    const now = await this.safetyNumber(addr);
    if (now.number !== number) throw new IdentityError('UNKNOWN_DEVICE', `The safety number changed while you compared it; compare again.`);
    const pin = (await this.store.loadRecord<ChainPin>(`address:${addr}`))!;
    const next = { ...pin, verified: number };
    await this.store.saveRecord(`address:${addr}`, next);
    await this.store.saveRecord(`user:${pin.userId}`, next);
    return { ...now, verified: true, changedSinceVerified: false };
  }

  private async post(signer: KeySet, userId: string, state: SigchainState | null, body: LinkBody, newKeys: KeySet[], boxes: ReturnType<typeof boxPerUserKey>, historyBox?: Uint8Array) {
    const link = createLink({ userId, seqno: state?.length ?? 0, prev: state?.headHash ?? new Uint8Array(32), time: this.now(), signer, body, newKeys });
    this.chainWrites++;
    await this.api.appendLink(
      toBase64Url(link.bytes),
      boxes.map((b) => ({ deviceId: b.deviceId, generation: b.generation, box: toBase64Url(b.box) })),
      historyBox ? toBase64Url(historyBox) : undefined,
    );
    this.chainWrites++;
    return link;
  }

  /**
   * Sets up this device for a signed-in user: the first device of a new user (root link, first
   * PUK, a backup key the user must save), or another device, which asks to join (a pending
   * device-request: no key generation, nothing to read or receive until another device, the
   * backup key or escrow recovery approves it).
   */
  async setUpThisDevice(opts: { address: string; name: string; kind: 'browser' | 'cli' }): Promise<
    { outcome: 'existing'; device: StoredDevice } | { outcome: 'first'; device: StoredDevice; backupKey: string } | { outcome: 'pending'; device: StoredDevice; fingerprint: string }
  > {
    const existing = await this.store.loadDevice(opts.address);
    const { userId, state } = await this.verifiedChain(opts.address);
    const known = existing && state?.devices.get(existing.deviceId);
    if (existing && known && known.status !== 'revoked') {
      await this.bindSession(existing);
      return { outcome: 'existing', device: existing };
    }
    // Keys this device kept but its chain revoked (or never took) are of no use: start afresh.
    const keys = generateDeviceKeys();
    const device = storedOf(keys, { userId, address: opts.address, name: opts.name, kind: opts.kind });
    const me = { deviceId: device.deviceId, encryptionPublicKey: keys.encryption.publicKey };
    if (!state) {
      const puk = generatePerUserKey(1);
      const root = await this.post(keys, userId, null, { type: LinkType.Root, device: { name: opts.name, kind: opts.kind, keys: publicKeysOf(keys) }, puk: pukEntry(puk) }, [puk], boxPerUserKey({ userId, puk, devices: [me] }));
      await this.store.saveDevice(device);
      // The backup key: a virtual device the user writes down; it can recover everything.
      const backup = generateBackupKey();
      const backupKeys = backupKeyDevice(backup.secret);
      const afterRoot = replaySigchain([root.bytes], { userId });
      const backupId = toHex(keyId(publicKeysOf(backupKeys)));
      await this.post(keys, userId, afterRoot, { type: LinkType.BackupAdd, device: { name: 'Backup key', kind: 'backup', keys: publicKeysOf(backupKeys) } }, [backupKeys], boxPerUserKey({ userId, puk, devices: [{ deviceId: backupId, encryptionPublicKey: backupKeys.encryption.publicKey }] }));
      await this.verifiedChain(opts.address);
      return { outcome: 'first', device, backupKey: backup.text };
    }
    await this.post(keys, userId, state, { type: LinkType.DeviceRequest, device: { name: opts.name, kind: opts.kind, keys: publicKeysOf(keys) } }, [], []);
    await this.store.saveDevice(device);
    await this.verifiedChain(opts.address);
    return { outcome: 'pending', device, fingerprint: deviceFingerprint(publicKeysOf(keys)) };
  }

  /** Ties the current session to this device when a new sign-in left it unbound (docs/sigchain.md §8). */
  private async bindSession(device: StoredDevice): Promise<void> {
    const session = await this.api.session();
    if (session.deviceId === device.deviceId) return;
    const signature = signSessionBinding(keySetOf(device).signing.secretKey, { userId: device.userId, sessionId: session.id, deviceId: fromHex(device.deviceId) });
    await this.api.bindSessionDevice(device.deviceId, toBase64Url(signature));
  }

  /**
   * Escrow (MISSION §3, docs/sigchain.md §3.1): whether the account's escrow key is in this
   * user's chain, or waits for the user's consent. Before anything is offered, the key is checked:
   * its certificate (possession), and its endorsement by the enabling admin's device, verified
   * against that admin's own pinned key history — so a key the server made up is refused.
   * @throws IdentityError ESCROW_INVALID when the offered key fails any check.
   */
  async escrowStatus(address: string): Promise<EscrowStatus> {
    const checked = await this.checkedEscrow();
    if (!checked) return { state: 'off' };
    const { device, state } = await this.mine(address);
    if (state.escrow && toHex(state.escrow.id) === checked.id) return { state: 'in-chain', fingerprint: checked.fingerprint };
    if (state.devices.get(device.deviceId)?.status !== 'approved' || state.escrow) return { state: 'not-yet' };
    const before = await this.store.loadRecord<{ escrowId: string }>(`escrow:${checked.accountId}`);
    return { state: 'needs-consent', fingerprint: checked.fingerprint, endorsedBy: checked.endorsedBy, changed: !!before && before.escrowId !== checked.id };
  }

  /**
   * Adds the account's (checked) escrow key to this user's chain once the user agreed or was
   * told, boxing every key generation this device holds to it. The key's id is pinned for the
   * account: another key later is asked about again.
   */
  async acceptEscrow(address: string): Promise<{ fingerprint: string }> {
    try {
      return await this.acceptEscrowOnce(address);
    } catch (err) {
      // Another device of this user extended the chain meanwhile (perhaps adding the escrow key
      // itself): look again, once, from the chain as it is now.
      if (err instanceof ApiClientError && err.code === 'SIGCHAIN_INVALID') return this.acceptEscrowOnce(address);
      throw err;
    }
  }

  private async acceptEscrowOnce(address: string): Promise<{ fingerprint: string }> {
    const checked = await this.checkedEscrow();
    if (!checked) throw new IdentityError('ESCROW_INVALID', 'Escrow is not on for this account.');
    const { device, keys, userId, state } = await this.mine(address);
    if (state.escrow && toHex(state.escrow.id) === checked.id) return { fingerprint: checked.fingerprint };
    if (state.devices.get(device.deviceId)?.status !== 'approved') throw new IdentityError('NO_DEVICE', 'Only an approved device can add the escrow key.');
    const to = { deviceId: checked.id, encryptionPublicKey: checked.keys.encryptionPublicKey };
    const boxes = (await this.perUserKeys(address)).flatMap((puk) => boxPerUserKey({ userId, puk, devices: [to] }));
    await this.post(keys, userId, state, { type: LinkType.EscrowAdd, device: { name: 'Escrow', kind: 'escrow', keys: checked.keys }, accountId: checked.accountId, certificate: checked.certificate }, [], boxes);
    await this.store.saveRecord(`escrow:${checked.accountId}`, { escrowId: checked.id });
    await this.verifiedChain(address);
    return { fingerprint: checked.fingerprint };
  }

  /** The account's active escrow key, every check passed, or null when escrow is off. */
  private async checkedEscrow() {
    const { escrow } = await this.api.escrow();
    if (!escrow) return null;
    const invalid = (why: string) => new IdentityError('ESCROW_INVALID', `The escrow key the server offers was refused: ${why}. It was not added to your keys.`);
    const escrowKeys = decodePublicKeys(fromBase64Url(escrow.publicKeys));
    const id = toHex(keyId(escrowKeys));
    if (id !== escrow.id) throw invalid('it does not match its id');
    const certificate = fromBase64Url(escrow.certificate);
    if (!verifyEscrowCertificate(escrowKeys, escrow.accountId, certificate)) throw invalid('its certificate does not verify');
    const e = escrow.endorsement;
    if (!e) throw invalid('no administrator’s device endorsed it');
    let admin: { userId: string; state: SigchainState | null };
    try {
      admin = await this.verifiedChain(e.address);
    } catch (err) {
      throw invalid(`the key history of ${e.address}, who endorsed it, does not verify (${(err as Error).message})`);
    }
    const endorser = admin.userId === e.userId ? admin.state?.devices.get(e.deviceId) : undefined;
    if (!endorser || endorser.status !== 'approved' || (endorser.kind !== 'browser' && endorser.kind !== 'cli')) throw invalid(`it was not endorsed by an approved device of ${e.address}`);
    if (!verifyEscrowEndorsement(endorser.keys.signingPublicKey, escrow.accountId, fromHex(id), fromBase64Url(e.signature))) throw invalid(`the endorsement of ${e.address} does not verify`);
    return { id, keys: escrowKeys, certificate, accountId: escrow.accountId, fingerprint: deviceFingerprint(escrowKeys), endorsedBy: e.address };
  }

  /** This device's keys and the user's verified chain (for flows built on Identity, e.g. escrow admin). */
  /** `chain`: this user's chain verified already (e.g. from `verifiedChains` beside recipients). */
  async thisDevice(address: string, chain?: Promise<VerifiedChain>) {
    return this.mine(address, chain);
  }

  private async mine(address: string, verified?: Promise<VerifiedChain>) {
    const device = await this.store.loadDevice(address);
    if (!device) throw new IdentityError('NO_DEVICE', 'This device has no keys yet: sign in first.');
    const chain = await (verified ?? this.verifiedChain(address));
    return { device, keys: keySetOf(device), userId: chain.userId, state: chain.state! };
  }

  /** The user's devices as their chain says, with fingerprints to compare. */
  async devices(address: string): Promise<DeviceView[]> {
    const { device, state } = await this.mine(address);
    const now = this.now();
    return [...state.devices.values()].map((d) => ({
      id: toHex(d.id),
      name: d.name,
      kind: d.kind,
      status: d.status,
      fingerprint: deviceFingerprint(d.keys),
      thisDevice: toHex(d.id) === device.deviceId,
      requestedAt: d.addedTime,
      expired: d.status === 'pending' && now - d.addedTime > DEVICE_REQUEST_TTL_MS,
    }));
  }

  /**
   * Every PUK generation this device (or `as`, a virtual device) can open: the seed boxes made
   * to it, and the history box its approver signed. Each generation must be one the chain
   * records, with the keys the chain records (KEY_MISMATCH otherwise: a box for a generation the
   * chain does not have is the server's invention, and nothing may be sealed or read with it).
   * @throws CryptoError KEY_MISMATCH, SIGNATURE_INVALID, DECRYPTION_FAILED.
   */
  async perUserKeys(address: string, as?: { keys: KeySet; deviceId: string }): Promise<PerUserKey[]> {
    const { device, keys, userId, state } = await this.mine(address);
    const who = as ?? { keys, deviceId: device.deviceId };
    const { boxes, history } = await this.api.pukBoxes(who.deviceId);
    const inChain = (generation: number) => {
      const g = state.puks[generation - 1];
      if (!g || g.generation !== generation) throw new CryptoError('KEY_MISMATCH', `generation ${generation} is not in ${address}'s key history`);
      return g.keys;
    };
    const out = new Map<number, PerUserKey>();
    if (history) {
      const from = state.devices.get(history.fromDeviceId);
      if (!from) throw new CryptoError('SIGNATURE_INVALID', 'the shared key history names a device that is not in the chain');
      const expected = new Map(state.puks.map((p) => [p.generation, p.keys]));
      for (const p of openPerUserKeyHistory({ history: fromBase64Url(history.box), userId, fromDeviceId: history.fromDeviceId, fromSigningPublicKey: from.keys.signingPublicKey, toDeviceId: who.deviceId, toEncryptionSecretKey: who.keys.encryption.secretKey, expected })) out.set(p.generation, p);
    }
    for (const b of boxes) {
      out.set(b.generation, openPerUserKeyBox({ box: fromBase64Url(b.box), userId, generation: b.generation, deviceId: who.deviceId, deviceEncryptionSecretKey: who.keys.encryption.secretKey, expectedPublicKeys: inChain(b.generation) }));
    }
    return [...out.values()].sort((a, b) => a.generation - b.generation);
  }

  /**
   * Approves a pending device (docs/sigchain.md §3): the next key generation for every approved
   * device and the newcomer, and every older generation in one signed history box.
   */
  async approve(address: string, idOrPrefix: string, signer?: { keys: KeySet; deviceId: string }): Promise<DeviceView> {
    const { keys, device, userId, state } = await this.mine(address);
    const target = resolveDevice(state, idOrPrefix);
    const generations = await this.perUserKeys(address, signer);
    const who = signer ?? { keys, deviceId: device.deviceId };
    const a = approvalOf({ userId, state, target, signer: who, generations, now: this.now() });
    await this.post(who.keys, userId, state, a.body, a.newKeys, a.boxes, a.historyBox);
    return { id: toHex(target.id), name: target.name, kind: target.kind, status: 'approved', fingerprint: deviceFingerprint(target.keys), thisDevice: false, requestedAt: target.addedTime, expired: false };
  }

  /** Revokes a device (or rejects a pending one): a new PUK for every remaining approved device. */
  async revoke(address: string, idOrPrefix: string): Promise<void> {
    const { keys, userId, state } = await this.mine(address);
    const target = resolveDevice(state, idOrPrefix);
    const puk = generatePerUserKey(state.puks.length + 1);
    const remaining = approvedDevices(state).filter((d) => d !== target).map(boxTarget);
    await this.post(keys, userId, state, { type: LinkType.DeviceRevoke, deviceId: target.id, puk: pukEntry(puk) }, [puk], boxPerUserKey({ userId, puk, devices: remaining }));
  }

  /**
   * Recovery on a new device with the backup key, without any other device: this device adds
   * itself, then the backup key (a virtual device of the chain) approves it and shares every
   * generation it holds.
   */
  async recover(opts: { address: string; name: string; kind: 'browser' | 'cli'; backupKey: string }): Promise<StoredDevice> {
    const secret = parseBackupKey(opts.backupKey);
    const backupKeys = backupKeyDevice(secret);
    const backupId = toHex(keyId(publicKeysOf(backupKeys)));
    // The key must be this user's current backup key: checked before this device adds itself.
    const { state } = await this.verifiedChain(opts.address);
    if (state && (!state.backup || toHex(state.backup.id) !== backupId || state.backup.status === 'revoked'))
      throw new IdentityError('WRONG_BACKUP_KEY', 'That is not the backup key of this account (it may have been replaced).');
    const setup = await this.setUpThisDevice({ address: opts.address, name: opts.name, kind: opts.kind });
    if (setup.outcome === 'first') throw new IdentityError('ALREADY_SET_UP', 'This user had no keys yet: a first device was set up instead.');
    // A device that already waits for approval (set up at sign-in) is approved by the backup key too.
    const mine = (await this.devices(opts.address)).find((d) => d.thisDevice);
    if (mine?.status === 'pending') await this.approve(opts.address, setup.device.deviceId, { keys: backupKeys, deviceId: backupId });
    return setup.device;
  }
}
