/**
 * Devices and keys, implemented once for the web client, admin console and CLI (MISSION §3):
 * first-device setup with a backup key, adding this device, listing, approving and revoking
 * devices, and recovery with the backup key. Every chain is verified with the crypto package
 * and pinned in the key store before it is used; the server only ever sees public keys, signed
 * links and boxes.
 */
import {
  backupKeyDevice,
  boxPerUserKey,
  createLink,
  decodePublicKeys,
  deviceFingerprint,
  ed25519KeyPairFromSeed,
  fromBase64Url,
  fromHex,
  generateBackupKey,
  generateDeviceKeys,
  generatePerUserKey,
  keyId,
  LinkType,
  openPerUserKeyBox,
  parseBackupKey,
  publicKeysOf,
  replaySigchain,
  SigchainError,
  signSessionBinding,
  toBase64Url,
  toHex,
  verifyEscrowCertificate,
  xwingKeyPairFromSeed,
  type DeviceKind,
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

/** Where a client keeps its device secrets and the chains it has seen (IndexedDB, a file, …). */
export interface KeyStore {
  loadDevice(address: string): Promise<StoredDevice | null>;
  saveDevice(device: StoredDevice): Promise<void>;
  loadPin(userId: string): Promise<{ length: number; headHash: string } | null>;
  savePin(userId: string, pin: { length: number; headHash: string }): Promise<void>;
}

/** A key store that lives as long as the process (tests, one-off tools). */
export function memoryKeyStore(): KeyStore {
  const devices = new Map<string, StoredDevice>();
  const pins = new Map<string, { length: number; headHash: string }>();
  return {
    loadDevice: async (address) => devices.get(address.toLowerCase()) ?? null,
    saveDevice: async (d) => void devices.set(d.address.toLowerCase(), d),
    loadPin: async (userId) => pins.get(userId) ?? null,
    savePin: async (userId, pin) => void pins.set(userId, pin),
  };
}

export interface DeviceView {
  id: string;
  name: string;
  kind: DeviceKind;
  status: 'pending' | 'approved' | 'revoked';
  fingerprint: string;
  thisDevice: boolean;
}

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly code: 'NO_DEVICE' | 'UNKNOWN_DEVICE' | 'NOT_PENDING' | 'ALREADY_SET_UP' | 'WRONG_BACKUP_KEY' | 'ESCROW_INVALID' | 'NO_ESCROW_KEY',
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
  async verifiedChain(address: string): Promise<{ userId: string; links: Uint8Array[]; state: SigchainState | null }> {
    const { userId, links } = await this.api.sigchain(address);
    const bytes = links.map(fromBase64Url);
    const saved = await this.store.loadPin(userId);
    const pin: SigchainPin | undefined = saved ? { length: saved.length, headHash: fromHex(saved.headHash) } : undefined;
    if (bytes.length === 0) {
      if (pin) throw new SigchainError('ROLLBACK', `the chain has no links; ${pin.length} were seen before`);
      return { userId, links: bytes, state: null };
    }
    const state = replaySigchain(bytes, { userId, ...(pin ? { pin } : {}) });
    await this.store.savePin(userId, { length: state.length, headHash: toHex(state.headHash) });
    return { userId, links: bytes, state };
  }

  private async post(signer: KeySet, userId: string, state: SigchainState | null, body: LinkBody, newKeys: KeySet[], boxes: ReturnType<typeof boxPerUserKey>) {
    const link = createLink({ userId, seqno: state?.length ?? 0, prev: state?.headHash ?? new Uint8Array(32), time: this.now(), signer, body, newKeys });
    await this.api.appendLink(
      toBase64Url(link.bytes),
      boxes.map((b) => ({ deviceId: b.deviceId, generation: b.generation, box: toBase64Url(b.box) })),
    );
    return link;
  }

  private active(state: SigchainState) {
    return [...state.devices.values()].filter((d) => d.status !== 'revoked');
  }

  /**
   * Sets up this device for a signed-in user: the first device of a new user (root link, first
   * PUK, a backup key the user must save), or another device (adds itself as pending, with a
   * new PUK for every active device).
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
      const link = await this.post(keys, userId, afterRoot, { type: LinkType.BackupAdd, device: { name: 'Backup key', kind: 'backup', keys: publicKeysOf(backupKeys) } }, [backupKeys], boxPerUserKey({ userId, puk, devices: [{ deviceId: backupId, encryptionPublicKey: backupKeys.encryption.publicKey }] }));
      await this.store.savePin(userId, { length: 2, headHash: toHex(link.hash) });
      return { outcome: 'first', device, backupKey: backup.text };
    }
    const puk = generatePerUserKey(state.puks.length + 1);
    const recipients = [...this.active(state).map((d) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey })), me];
    await this.post(keys, userId, state, { type: LinkType.DeviceAdd, device: { name: opts.name, kind: opts.kind, keys: publicKeysOf(keys) }, puk: pukEntry(puk) }, [puk], boxPerUserKey({ userId, puk, devices: recipients }));
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
   * Escrow (MISSION §3): when the account has it on and this user's chain lacks it, this device
   * (if approved) checks the escrow certificate, adds the escrow device to the chain and boxes
   * every PUK generation it holds to it. Returns the escrow fingerprint for the notice, with
   * `added` true when this call added it; null when escrow is off or this device cannot add it yet.
   */
  async ensureEscrow(address: string): Promise<{ added: boolean; fingerprint: string } | null> {
    try {
      return await this.ensureEscrowOnce(address);
    } catch (err) {
      // Another device of this user extended the chain meanwhile (perhaps adding the escrow key
      // itself): look again, once, from the chain as it is now.
      if (err instanceof ApiClientError && err.code === 'SIGCHAIN_INVALID') return this.ensureEscrowOnce(address);
      throw err;
    }
  }

  private async ensureEscrowOnce(address: string): Promise<{ added: boolean; fingerprint: string } | null> {
    const { escrow } = await this.api.escrow();
    if (!escrow) return null;
    const { device, keys, userId, state } = await this.mine(address);
    const escrowKeys = decodePublicKeys(fromBase64Url(escrow.publicKeys));
    const fingerprint = deviceFingerprint(escrowKeys);
    if (toHex(keyId(escrowKeys)) !== escrow.id) throw new IdentityError('ESCROW_INVALID', 'The server sent an escrow key that does not match its id.');
    if (state.escrow && toHex(state.escrow.id) === escrow.id) return { added: false, fingerprint };
    if (state.devices.get(device.deviceId)?.status !== 'approved' || state.escrow) return null;
    const certificate = fromBase64Url(escrow.certificate);
    if (!verifyEscrowCertificate(escrowKeys, escrow.accountId, certificate)) throw new IdentityError('ESCROW_INVALID', 'The escrow key’s certificate does not verify.');
    const to = { deviceId: escrow.id, encryptionPublicKey: escrowKeys.encryptionPublicKey };
    const boxes = (await this.perUserKeys(address)).flatMap((puk) => boxPerUserKey({ userId, puk, devices: [to] }));
    await this.post(keys, userId, state, { type: LinkType.EscrowAdd, device: { name: 'Escrow', kind: 'escrow', keys: escrowKeys }, accountId: escrow.accountId, certificate }, [], boxes);
    await this.verifiedChain(address);
    return { added: true, fingerprint };
  }

  /** This device's keys and the user's verified chain (for flows built on Identity, e.g. escrow admin). */
  async thisDevice(address: string) {
    return this.mine(address);
  }

  private async mine(address: string) {
    const device = await this.store.loadDevice(address);
    if (!device) throw new IdentityError('NO_DEVICE', 'This device has no keys yet: sign in first.');
    const chain = await this.verifiedChain(address);
    return { device, keys: keySetOf(device), userId: chain.userId, state: chain.state! };
  }

  /** The user's devices as their chain says, with fingerprints to compare. */
  async devices(address: string): Promise<DeviceView[]> {
    const { device, state } = await this.mine(address);
    return [...state.devices.values()].map((d) => ({ id: toHex(d.id), name: d.name, kind: d.kind, status: d.status, fingerprint: deviceFingerprint(d.keys), thisDevice: toHex(d.id) === device.deviceId }));
  }

  /** Every PUK generation this device (or `as`, a virtual device) can open. */
  async perUserKeys(address: string, as?: { keys: KeySet; deviceId: string }): Promise<PerUserKey[]> {
    const { device, keys, userId, state } = await this.mine(address);
    const who = as ?? { keys, deviceId: device.deviceId };
    const { boxes } = await this.api.pukBoxes(who.deviceId);
    return boxes.map((b) =>
      openPerUserKeyBox({ box: fromBase64Url(b.box), userId, generation: b.generation, deviceId: who.deviceId, deviceEncryptionSecretKey: who.keys.encryption.secretKey, expectedPublicKeys: state.puks[b.generation - 1]?.keys }),
    );
  }



  /** Approves a pending device and shares every older PUK generation with it. */
  async approve(address: string, idOrPrefix: string, signer?: { keys: KeySet; deviceId: string }): Promise<DeviceView> {
    const { keys, userId, state } = await this.mine(address);
    const target = resolveDevice(state, idOrPrefix);
    if (target.status !== 'pending') throw new IdentityError('NOT_PENDING', `${target.name} is not waiting for approval.`);
    const generations = await this.perUserKeys(address, signer);
    const to = { deviceId: toHex(target.id), encryptionPublicKey: target.keys.encryptionPublicKey };
    const boxes = generations.flatMap((puk) => boxPerUserKey({ userId, puk, devices: [to] }));
    await this.post(signer?.keys ?? keys, userId, state, { type: LinkType.DeviceApprove, deviceId: target.id }, [], boxes);
    return { id: toHex(target.id), name: target.name, kind: target.kind, status: 'approved', fingerprint: deviceFingerprint(target.keys), thisDevice: false };
  }

  /** Revokes a device (or rejects a pending one): a new PUK for every remaining device. */
  async revoke(address: string, idOrPrefix: string): Promise<void> {
    const { keys, userId, state } = await this.mine(address);
    const target = resolveDevice(state, idOrPrefix);
    const puk = generatePerUserKey(state.puks.length + 1);
    const remaining = this.active(state).filter((d) => d !== target).map((d) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey }));
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
