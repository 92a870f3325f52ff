/**
 * The escrow admin's side of escrow (MISSION §3), implemented once for the admin console and the
 * CLI. The escrow key is made on this (admin's) device and only ever leaves it boxed to escrow
 * admins' devices. With it an escrow admin approves a new device for a user who lost all of
 * theirs (recovery), opens a user's per-user keys (discovery), and, when escrow is turned off,
 * removes the escrow device from every chain with a fresh per-user key for the user's devices.
 * Every step is recorded by the server in the account's change history.
 */
import {
  approvedDevices,
  boxEscrowKey,
  boxPerUserKey,
  createLink,
  decodePublicKeys,
  deviceFingerprint,
  encodePublicKeys,
  endorseEscrowKey,
  escrowCertificate,
  fromBase64Url,
  fromHex,
  generateEscrowKey,
  generatePerUserKey,
  LinkType,
  openEscrowKeyBox,
  openPerUserKeyBox,
  publicKeysOf,
  toBase64Url,
  toHex,
  type EscrowKey,
  type KeySet,
  type LinkBody,
  type PerUserKey,
  type SigchainState,
} from '@sealmail/crypto';
import { adminEscrowAdmins, adminEscrowDesignate, adminEscrowShare, adminEscrowUndesignate } from '@sealmail/contract';
import type { ApiClient } from './api';
import type { Identity} from './identity';
import { approvalOf, DEVICE_REQUEST_TTL_MS, IdentityError, pukEntry, resolveDevice, type DeviceView } from './identity';

export interface EscrowUserView {
  address: string;
  displayName: string;
  hasKeys: boolean;
  escrowInChain: boolean;
}

export class EscrowAdmin {
  constructor(
    private readonly api: ApiClient,
    /** The admin's identity on this device (its pins verify what discovery opens). */
    readonly identity: Identity,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Escrow state for the console: on/off, fingerprint, holders, users. */
  async overview() {
    const r = await this.api.adminEscrow();
    const fingerprint = r.escrow ? deviceFingerprint(decodeKeys(r.escrow.publicKeys)) : null;
    return { ...r, fingerprint };
  }

  /**
   * Turns escrow on: a new escrow key made here, certified for the account, its secret boxed to
   * every approved device of this admin. Returns its fingerprint (users see the same one).
   */
  async enable(adminAddress: string): Promise<{ id: string; fingerprint: string }> {
    const { state, keys } = await this.identity.thisDevice(adminAddress);
    const { user } = await this.api.session();
    const escrow = generateEscrowKey();
    const holders = [...state.devices.values()]
      .filter((d) => d.status === 'approved' && (d.kind === 'browser' || d.kind === 'cli'))
      .map((d) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey }));
    const boxes = boxEscrowKey({ accountId: user.accountId, escrow, adminDevices: holders });
    const { id } = await this.api.enableEscrow({
      publicKeys: toBase64Url(encode(escrow.device)),
      certificate: toBase64Url(escrowCertificate(escrow.device, user.accountId)),
      // This device vouches for the key: users' clients check it against this admin's chain.
      endorsement: toBase64Url(endorseEscrowKey(keys.signing.secretKey, user.accountId, escrow.id)),
      boxes: boxes.map((b) => ({ deviceId: b.deviceId, box: toBase64Url(b.box) })),
    });
    escrow.secret.fill(0);
    return { id, fingerprint: deviceFingerprint(publicKeysOf(escrow.device)) };
  }

  /** The escrow key, opened on this device from its box. */
  private async escrowKey(adminAddress: string): Promise<EscrowKey> {
    const { device, keys } = await this.identity.thisDevice(adminAddress);
    const { user } = await this.api.session();
    let opened;
    try {
      opened = await this.api.escrowBox();
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') throw new IdentityError('NO_ESCROW_KEY', 'This device holds no escrow key of this account.');
      throw err;
    }
    return openEscrowKeyBox({ box: fromBase64Url(opened.box), accountId: user.accountId, escrowId: fromHex(opened.escrowId), adminDeviceId: device.deviceId, adminEncryptionSecretKey: keys.encryption.secretKey });
  }

  /** A user's verified chain and every PUK generation the escrow device holds for them. */
  private async userKeys(escrow: EscrowKey, address: string, purpose: 'recovery' | 'discovery' | 'removal') {
    const { userId, state } = await this.identity.verifiedChain(address);
    if (!state) throw new IdentityError('NO_DEVICE', `${address} has no keys yet.`);
    const escrowId = toHex(escrow.id);
    const { boxes } = await this.api.escrowPukBoxes(address, purpose);
    const puks = boxes.map((b) =>
      openPerUserKeyBox({ box: fromBase64Url(b.box), userId, generation: b.generation, deviceId: escrowId, deviceEncryptionSecretKey: escrow.device.encryption.secretKey, expectedPublicKeys: state.puks[b.generation - 1]?.keys }),
    );
    return { userId, state, puks };
  }

  private async append(address: string, escrow: EscrowKey, userId: string, state: SigchainState, body: LinkBody, newKeys: KeySet[], boxes: ReturnType<typeof boxPerUserKey>, historyBox?: Uint8Array) {
    const link = createLink({ userId, seqno: state.length, prev: state.headHash, time: this.now(), signer: escrow.device, body, newKeys });
    await this.api.escrowAppend(
      address,
      toBase64Url(link.bytes),
      boxes.map((b) => ({ deviceId: b.deviceId, generation: b.generation, box: toBase64Url(b.box) })),
      historyBox ? toBase64Url(historyBox) : undefined,
    );
  }

  /** A user's devices, for choosing the one to recover. */
  async userDevices(address: string): Promise<Omit<DeviceView, 'thisDevice'>[]> {
    const { state } = await this.identity.verifiedChain(address);
    const now = this.now();
    return state
      ? [...state.devices.values()].map((d) => ({ id: toHex(d.id), name: d.name, kind: d.kind, status: d.status, fingerprint: deviceFingerprint(d.keys), requestedAt: d.addedTime, expired: d.status === 'pending' && now - d.addedTime > DEVICE_REQUEST_TTL_MS }))
      : [];
  }

  /** Recovery: approves a user's pending device with the escrow key and shares all their generations with it. */
  async recover(adminAddress: string, userAddress: string, idOrFingerprint: string): Promise<{ generations: number[] }> {
    const escrow = await this.escrowKey(adminAddress);
    const { userId, state, puks } = await this.userKeys(escrow, userAddress, 'recovery');
    const target = resolveDevice(state, idOrFingerprint);
    const a = approvalOf({ userId, state, target, signer: { keys: escrow.device, deviceId: toHex(escrow.id) }, generations: puks, now: this.now() });
    await this.append(userAddress, escrow, userId, state, a.body, a.newKeys, a.boxes, a.historyBox);
    return { generations: [...puks.map((p) => p.generation), a.newKeys[0]!.generation] };
  }

  /** The escrow admins, and which of their devices hold the key (docs/admin.md "Escrow & discovery"). */
  async admins() {
    return (await this.api.request(adminEscrowAdmins, {})).admins;
  }

  /** Designates an escrow admin (an admin's session, freshly re-authenticated; recorded). */
  designate(address: string) {
    return this.api.request(adminEscrowDesignate, { body: { address } });
  }

  /** Ends a designation; the key boxes of that person's devices are deleted (recorded). */
  undesignate(address: string) {
    return this.api.request(adminEscrowUndesignate, { params: { address } });
  }

  /**
   * Boxes the escrow key, opened on this device, to every approved device of the escrow admins
   * that holds none yet. Each device's encryption key is taken from its owner's verified chain
   * (not from the server's list). Answers the devices that got it.
   */
  async shareKey(adminAddress: string): Promise<{ address: string; deviceId: string }[]> {
    const escrow = await this.escrowKey(adminAddress);
    const { user } = await this.api.session();
    const targets: { deviceId: string; encryptionPublicKey: Uint8Array }[] = [];
    for (const a of await this.admins()) {
      const missing = a.devices.filter((d) => !d.holdsKey);
      if (!missing.length) continue;
      const { state } = await this.identity.verifiedChain(a.address);
      for (const d of missing) {
        const dev = state?.devices.get(d.deviceId);
        if (dev && dev.status === 'approved' && (dev.kind === 'browser' || dev.kind === 'cli')) targets.push({ deviceId: d.deviceId, encryptionPublicKey: dev.keys.encryptionPublicKey });
      }
    }
    if (!targets.length) {
      escrow.secret.fill(0);
      return [];
    }
    const boxes = boxEscrowKey({ accountId: user.accountId, escrow, adminDevices: targets });
    escrow.secret.fill(0);
    return (await this.api.request(adminEscrowShare, { body: { boxes: boxes.map((b) => ({ deviceId: b.deviceId, box: toBase64Url(b.box) })) } })).added;
  }

  /** Discovery: a user's id and every per-user key generation escrow holds for them (recorded as a discovery opening). */
  async discoveryKeys(adminAddress: string, userAddress: string): Promise<{ userId: string; puks: PerUserKey[] }> {
    const escrow = await this.escrowKey(adminAddress);
    const { userId, puks } = await this.userKeys(escrow, userAddress, 'discovery');
    return { userId, puks };
  }

  /** Discovery: the user's per-user keys, opened with the escrow key (the server records it). */
  async discover(adminAddress: string, userAddress: string): Promise<PerUserKey[]> {
    const escrow = await this.escrowKey(adminAddress);
    return (await this.userKeys(escrow, userAddress, 'discovery')).puks;
  }

  /**
   * Turns escrow off: the server stops handing it out, then this device removes the escrow
   * device from every chain that has it, each with a new per-user key for the user's remaining
   * devices. Returns the addresses cleaned.
   */
  async disable(adminAddress: string): Promise<string[]> {
    const escrow = await this.escrowKey(adminAddress);
    const before = await this.api.adminEscrow();
    if (before.escrow?.status === 'active') await this.api.disableEscrow();
    const cleaned: string[] = [];
    for (const u of before.users.filter((x) => x.escrowInChain)) {
      const { userId, state } = await this.identity.verifiedChain(u.address);
      if (!state?.escrow || toHex(state.escrow.id) !== toHex(escrow.id)) continue;
      const puk = generatePerUserKey(state.puks.length + 1);
      const remaining = approvedDevices(state).filter((d) => d !== state.escrow).map((d) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey }));
      await this.append(u.address, escrow, userId, state, { type: LinkType.EscrowRemove, deviceId: escrow.id, puk: pukEntry(puk) }, [puk], boxPerUserKey({ userId, puk, devices: remaining }));
      cleaned.push(u.address);
    }
    return cleaned;
  }
}

const encode = (k: KeySet) => encodePublicKeys(publicKeysOf(k));
const decodeKeys = (b64: string) => decodePublicKeys(fromBase64Url(b64));
