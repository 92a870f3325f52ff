/**
 * Shared mailboxes (support@, …; docs/mail.md "Delegation and shared mailboxes"), from the
 * creating admin's device. A shared mailbox is a user nobody signs in to: this device makes its key
 * history's root with a device key of the mailbox's own and its first key generation, keeps that
 * device key sealed to the admin's own per-user key (a self box, kind `shared-mailbox`), and adds
 * and removes members as delegates — grants and revocations signed with that key
 * (packages/client/src/delegation.ts).
 */
import {
  boxPerUserKey,
  createLink,
  CryptoError,
  currentPuk,
  ed25519KeyPairFromSeed,
  fromBase64Url,
  generateDeviceKeys,
  generatePerUserKey,
  keyId,
  LinkType,
  openPerUserKeyBox,
  openSelfBox,
  publicKeysOf,
  sealSelfBox,
  toBase64Url,
  toHex,
  xwingKeyPairFromSeed,
  ZERO_HASH,
} from '@sealmail/crypto';
import { sharedMailboxCreate, sharedMailboxDevice, sharedMailboxLinks, sharedMailboxList } from '@sealmail/contract';
import type { ApiClient } from './api';
import { Delegation, type DelegationRights, type MailboxSigner } from './delegation';
import { pukEntry, type Identity } from './identity';

export class SharedMailboxes {
  private readonly delegation: Delegation;
  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    /** The signed-in admin's address. */
    readonly address: string,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.delegation = new Delegation(api, identity, address, now);
  }

  /** The account's shared mailboxes and their members (as the server lists them). */
  async list() {
    return (await this.api.request(sharedMailboxList, {})).mailboxes;
  }

  /**
   * Creates a shared mailbox: the address on the server, then its key history's root made here
   * (a device key of the mailbox's own, which only this admin's devices can open, and its first key
   * generation boxed to it).
   */
  async create(mailboxAddress: string, displayName = ''): Promise<{ userId: string; address: string }> {
    const me = await this.identity.thisDevice(this.address);
    const myPuks = await this.identity.perUserKeys(this.address);
    const newest = myPuks.find((p) => p.generation === currentPuk(me.state).generation);
    if (!newest) throw new CryptoError('KEY_MISMATCH', 'This device does not hold your newest key yet.');
    const created = await this.api.request(sharedMailboxCreate, { body: { address: mailboxAddress, displayName } });
    const device = generateDeviceKeys();
    const puk = generatePerUserKey(1);
    const root = createLink({ userId: created.userId, seqno: 0, prev: ZERO_HASH, time: this.now(), signer: device, body: { type: LinkType.Root, device: { name: 'Shared mailbox key', kind: 'cli', keys: publicKeysOf(device) }, puk: pukEntry(puk) }, newKeys: [puk] });
    const deviceId = toHex(keyId(publicKeysOf(device)));
    const seeds = new Uint8Array(64);
    seeds.set(device.signing.secretKey, 0);
    seeds.set(device.encryption.secretKey, 32);
    const deviceBox = sealSelfBox({ kind: 'shared-mailbox', userId: me.userId, itemId: created.userId, puk: newest, plaintext: seeds });
    seeds.fill(0);
    const pukBoxes = boxPerUserKey({ userId: created.userId, puk, devices: [{ deviceId, encryptionPublicKey: device.encryption.publicKey }] });
    await this.api.request(sharedMailboxLinks, {
      params: { mailboxUserId: created.userId },
      body: { link: toBase64Url(root.bytes), pukBoxes: pukBoxes.map((b) => ({ deviceId: b.deviceId, generation: b.generation, box: toBase64Url(b.box) })), deviceBox: toBase64Url(deviceBox) },
    });
    return created;
  }

  /**
   * The shared mailbox as a signer of its own key history: its device key (opened from the self
   * box with this admin's keys), its verified chain, and its key generations (checked against it).
   */
  async signer(mailbox: { userId: string }): Promise<MailboxSigner> {
    const me = await this.identity.thisDevice(this.address);
    const { address, deviceBox, pukBoxes } = await this.api.request(sharedMailboxDevice, { params: { mailboxUserId: mailbox.userId } });
    const seeds = openSelfBox({ kind: 'shared-mailbox', userId: me.userId, itemId: mailbox.userId, record: fromBase64Url(deviceBox), puks: await this.identity.perUserKeys(this.address) });
    const keys = { signing: ed25519KeyPairFromSeed(seeds.subarray(0, 32)), encryption: xwingKeyPairFromSeed(seeds.subarray(32, 64)) };
    const chain = await this.identity.verifiedChain(address);
    if (chain.userId !== mailbox.userId || !chain.state) throw new CryptoError('KEY_MISMATCH', `The key history of ${address} is not the shared mailbox's.`);
    const deviceId = toHex(keyId(publicKeysOf(keys)));
    if (chain.state.devices.get(deviceId)?.status !== 'approved') throw new CryptoError('KEY_MISMATCH', `The key you hold for ${address} is not its device.`);
    const generations = pukBoxes.map((b) => {
      const expected = chain.state!.puks[b.generation - 1];
      if (!expected) throw new CryptoError('KEY_MISMATCH', `generation ${b.generation} is not in ${address}'s key history`);
      return openPerUserKeyBox({ box: fromBase64Url(b.box), userId: mailbox.userId, generation: b.generation, deviceId, deviceEncryptionSecretKey: keys.encryption.secretKey, expectedPublicKeys: expected.keys });
    });
    return { userId: mailbox.userId, address, keys, state: chain.state, generations, shared: true };
  }

  /** Adds a member (a delegate of the shared mailbox). */
  async addMember(mailbox: { userId: string }, member: string, rights: DelegationRights) {
    return this.delegation.grant(member, rights, await this.signer(mailbox));
  }

  /** Removes a member: the mailbox's keys rotate, boxed to the remaining members only. */
  async removeMember(mailbox: { userId: string }, member: string) {
    return this.delegation.revoke(member, await this.signer(mailbox));
  }
}
