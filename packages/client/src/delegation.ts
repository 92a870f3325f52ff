/**
 * Delegation on the device (docs/mail.md "Delegation", docs/sigchain.md §3.2): granting and
 * revoking another user's read or send-as on one's mailbox, and using a mailbox delegated to
 * oneself. Every grant is a link of the mailbox's key history signed here; the mailbox's key
 * generations are boxed here to the delegate's per-user key taken from the delegate's verified,
 * pinned chain. A delegate opens them only after finding a grant to itself in the mailbox's
 * verified chain, and checks every key against that chain — the server cannot grant anything.
 */
import {
  activeDelegation,
  approvedDevices,
  boxMailboxKey,
  boxPerUserKey,
  createLink,
  currentPuk,
  DelegateRights,
  fromBase64Url,
  generatePerUserKey,
  LinkType,
  openMailboxKey,
  toBase64Url,
  toHex,
  type KeySet,
  type PerUserKey,
  type SigchainState,
} from '@sealmail/crypto';
import { delegatedKeys, delegatedMailGet, delegatedMailList, delegationAppend, delegationBoxes, delegationOverview, type FolderName } from '@sealmail/contract';
import type { ApiClient } from './api';
import { pukEntry, TrustError, type Identity } from './identity';
import { Mailer, type MailboxAccess } from './mail/mailer';

export type DelegationRights = 'read' | 'send';

export class DelegationError extends Error {
  override readonly name = 'DelegationError';
  constructor(
    readonly code: 'NOT_GRANTED' | 'DELEGATE_HAS_NO_KEYS' | 'ALREADY_GRANTED' | 'SELF' | 'NO_KEYS_YET',
    message: string,
  ) {
    super(message);
  }
}

/** A grant as this device verified it in the mailbox's key history. */
export interface GrantView {
  delegateUserId: string;
  address: string;
  rights: DelegationRights;
}

/** A mailbox delegated to this user (as the server lists it; its keys are verified when used). */
export interface DelegatedMailbox {
  userId: string;
  address: string;
  displayName: string;
  rights: DelegationRights;
  shared: boolean;
}

const rightsOf = (r: DelegateRights): DelegationRights => (r === DelegateRights.ReadAndSend ? 'send' : 'read');

/** The signing device and key generations of the mailbox whose grants are managed (one's own, or a shared mailbox's). */
export interface MailboxSigner {
  userId: string;
  address: string;
  keys: KeySet;
  state: SigchainState;
  generations: PerUserKey[];
  /** For a shared mailbox: its user id, named in every request. */
  shared?: boolean;
}

export class Delegation {
  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    /** The signed-in user's address. */
    readonly address: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** This user's own mailbox as the one whose grants are managed. */
  async ownMailbox(): Promise<MailboxSigner> {
    const me = await this.identity.thisDevice(this.address);
    return { userId: me.userId, address: this.address.toLowerCase(), keys: me.keys, state: me.state, generations: await this.identity.perUserKeys(this.address) };
  }

  /** The grants in force in the mailbox's verified key history. */
  async grants(mailbox?: MailboxSigner): Promise<GrantView[]> {
    const m = mailbox ?? (await this.ownMailbox());
    return m.state.delegations.filter((d) => d.revokedAt === undefined).map((d) => ({ delegateUserId: d.delegate.userId, address: d.delegate.address, rights: rightsOf(d.delegate.rights) }));
  }

  /** Mailboxes delegated to this user. */
  async mailboxes(): Promise<DelegatedMailbox[]> {
    return (await this.api.request(delegationOverview, {})).mailboxes;
  }

  /** The delegate's newest per-user key, from their verified (and pinned) key history. */
  private async delegateKey(address: string) {
    const chain = await this.identity.verifiedChain(address);
    if (!chain.state?.puks.length) throw new DelegationError('DELEGATE_HAS_NO_KEYS', `${address} has not set up a device yet, so there is no key to share the mailbox with.`);
    return { userId: chain.userId, state: chain.state, puk: currentPuk(chain.state) };
  }

  /**
   * Grants `delegateAddress` read (or read and send-as) on the mailbox: a delegate-grant link
   * signed by this device, with every key generation of the mailbox boxed to the delegate.
   */
  async grant(delegateAddress: string, rights: DelegationRights, mailbox?: MailboxSigner): Promise<GrantView> {
    const m = mailbox ?? (await this.ownMailbox());
    const addr = delegateAddress.trim().toLowerCase();
    const d = await this.delegateKey(addr);
    if (d.userId === m.userId) throw new DelegationError('SELF', 'You cannot delegate a mailbox to itself.');
    if (activeDelegation(m.state, d.userId)) throw new DelegationError('ALREADY_GRANTED', `${addr} already holds a delegation: revoke it first to change it.`);
    const link = createLink({
      userId: m.userId,
      seqno: m.state.length,
      prev: m.state.headHash,
      time: this.now(),
      signer: m.keys,
      body: { type: LinkType.DelegateGrant, delegate: { userId: d.userId, address: addr, chain: { length: d.state.length, head: d.state.headHash }, rights: rights === 'send' ? DelegateRights.ReadAndSend : DelegateRights.Read } },
    });
    const mailboxBoxes = m.generations.map((puk) => this.boxFor(m.userId, puk, d));
    await this.api.request(delegationAppend, { body: { ...(m.shared ? { mailboxUserId: m.userId } : {}), link: toBase64Url(link.bytes), mailboxBoxes } });
    return { delegateUserId: d.userId, address: addr, rights };
  }

  private boxFor(mailboxUserId: string, puk: PerUserKey, d: { userId: string; puk: { generation: number; keys: { encryptionPublicKey: Uint8Array } } }) {
    const b = boxMailboxKey({ mailboxUserId, puk, delegate: { userId: d.userId, generation: d.puk.generation, encryptionPublicKey: d.puk.keys.encryptionPublicKey } });
    return { delegateUserId: d.userId, generation: b.generation, delegateGeneration: b.delegateGeneration, box: toBase64Url(b.box) };
  }

  /**
   * Revokes a delegate: a delegate-revoke link bringing the mailbox's next key generation, boxed to
   * the mailbox's approved devices and to the delegates that remain — not to the revoked one, who
   * cannot open mail sealed from now on.
   */
  async revoke(delegateAddress: string, mailbox?: MailboxSigner): Promise<void> {
    const m = mailbox ?? (await this.ownMailbox());
    const addr = delegateAddress.trim().toLowerCase();
    const g = m.state.delegations.find((x) => x.revokedAt === undefined && x.delegate.address === addr);
    if (!g) throw new DelegationError('NOT_GRANTED', `${addr} holds no delegation for ${m.address}.`);
    const puk = generatePerUserKey(m.state.puks.length + 1);
    const link = createLink({ userId: m.userId, seqno: m.state.length, prev: m.state.headHash, time: this.now(), signer: m.keys, body: { type: LinkType.DelegateRevoke, delegateUserId: g.delegate.userId, puk: pukEntry(puk) }, newKeys: [puk] });
    const pukBoxes = boxPerUserKey({ userId: m.userId, puk, devices: approvedDevices(m.state).map((d) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey })) });
    const remaining = m.state.delegations.filter((x) => x.revokedAt === undefined && x !== g);
    const mailboxBoxes = [];
    for (const r of remaining) {
      // A remaining delegate whose key history fails a check now gets the new key later (shareNewKeys): a revocation is never held up.
      const d = await this.delegateKey(r.delegate.address).catch(() => null);
      if (d) mailboxBoxes.push(this.boxFor(m.userId, puk, d));
    }
    await this.api.request(delegationAppend, {
      body: { ...(m.shared ? { mailboxUserId: m.userId } : {}), link: toBase64Url(link.bytes), pukBoxes: pukBoxes.map((b) => ({ deviceId: b.deviceId, generation: b.generation, box: toBase64Url(b.box) })), mailboxBoxes },
    });
  }

  /**
   * Boxes the mailbox's key generations the delegates in force do not hold yet (after the
   * mailbox's keys rotated for another reason: a device added or removed). Answers how many.
   */
  async shareNewKeys(mailbox?: MailboxSigner): Promise<number> {
    const m = mailbox ?? (await this.ownMailbox());
    const { grants } = await this.api.request(delegationOverview, {});
    const mailboxBoxes = [];
    for (const g of m.state.delegations.filter((x) => x.revokedAt === undefined)) {
      const held = new Set(grants.find((x) => x.delegateUserId === g.delegate.userId)?.generations ?? []);
      const missing = m.generations.filter((p) => !held.has(p.generation));
      if (!missing.length) continue;
      const d = await this.delegateKey(g.delegate.address);
      for (const p of missing) mailboxBoxes.push(this.boxFor(m.userId, p, d));
    }
    if (!mailboxBoxes.length) return 0;
    return (await this.api.request(delegationBoxes, { body: { ...(m.shared ? { mailboxUserId: m.userId } : {}), mailboxBoxes } })).stored;
  }

  /**
   * A delegated mailbox's verified key history, with the grant to this user in force in it, and
   * the grant's view of this user's key history checked against this user's own.
   * @throws DelegationError NOT_GRANTED; TrustError / SigchainError when the history does not verify.
   */
  async verifiedMailbox(mailbox: { userId: string; address: string }): Promise<{ state: SigchainState; rights: DelegationRights }> {
    const chain = await this.identity.verifiedChain(mailbox.address);
    if (chain.userId !== mailbox.userId || !chain.state) throw new TrustError('IDENTITY_CHANGED', `The server names another account for ${mailbox.address} than the mailbox delegated to you.`, mailbox.address);
    const me = await this.identity.thisDevice(this.address);
    const grant = activeDelegation(chain.state, me.userId);
    if (!grant) throw new DelegationError('NOT_GRANTED', `${mailbox.address}'s key history holds no delegation to you.`);
    const seen = grant.delegate.chain;
    if (seen.length > me.state.length || toHex(me.state.hashes[seen.length - 1]!) !== toHex(seen.head)) throw new DelegationError('NOT_GRANTED', `${mailbox.address}'s delegation names a key history of yours that is not the one you have.`);
    return { state: chain.state, rights: rightsOf(grant.delegate.rights) };
  }

  /**
   * The delegated mailbox's key generations this user holds, each checked against the mailbox's
   * verified chain (KEY_MISMATCH for a key the server made up).
   */
  async mailboxKeys(mailbox: { userId: string; address: string }): Promise<PerUserKey[]> {
    const { state } = await this.verifiedMailbox(mailbox);
    const me = await this.identity.thisDevice(this.address);
    const mine = await this.identity.perUserKeys(this.address);
    const { boxes } = await this.api.request(delegatedKeys, { params: { mailboxUserId: mailbox.userId } });
    const out: PerUserKey[] = [];
    for (const b of boxes) {
      const delegatePuk = mine.find((p) => p.generation === b.delegateGeneration);
      const expected = state.puks[b.generation - 1];
      if (!delegatePuk || !expected) continue;
      out.push(openMailboxKey({ box: fromBase64Url(b.box), mailboxUserId: mailbox.userId, generation: b.generation, delegateUserId: me.userId, delegatePuk, expectedPublicKeys: expected.keys }));
    }
    if (!out.length) throw new DelegationError('NO_KEYS_YET', `No key of ${mailbox.address} has been shared with this account yet.`);
    return out.sort((a, b) => a.generation - b.generation);
  }

  /** Access to a delegated mailbox for a {@link Mailer}: keys verified here, entries from the delegation routes. */
  access(mailbox: { userId: string; address: string }): MailboxAccess {
    let keys: Promise<PerUserKey[]> | null = null;
    return {
      userId: mailbox.userId,
      address: mailbox.address.toLowerCase(),
      keys: () => {
        keys ??= this.mailboxKeys(mailbox);
        keys.catch(() => (keys = null));
        return keys;
      },
      chain: async () => (await this.verifiedMailbox(mailbox)).state,
      listEntries: (opts: { folder?: FolderName; cursor?: string | null; limit?: number }) =>
        this.api.request(delegatedMailList, { params: { mailboxUserId: mailbox.userId }, query: { ...(opts.folder ? { folder: opts.folder } : {}), ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.cursor ? { cursor: opts.cursor } : {}) } }),
      getEntry: (entryId: string) => this.api.request(delegatedMailGet, { params: { mailboxUserId: mailbox.userId, entryId } }),
    };
  }

  /** A Mailer for a delegated mailbox: reads it, and sends as it where the grant has send-as. */
  mailer(mailbox: { userId: string; address: string }, displayName = ''): Mailer {
    return new Mailer(this.api, this.identity, this.address, displayName, this.access(mailbox));
  }
}
