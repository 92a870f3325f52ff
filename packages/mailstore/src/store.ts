/**
 * Storing a sealed mail: one message row, its attachment blobs attached, and one mailbox entry
 * per holder — in one transaction, with every holder's quota charged in the same transaction.
 * Shared by the API (mail sent by a user's device) and the SMTP ingress (mail from outside,
 * sealed by the server). Callers check that the mail fits together before calling this.
 */
import { randomUUID } from 'node:crypto';
import type { FolderName } from '@sealmail/contract';
import { currentPuk, replaySigchain, type PublicKeys } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { charge } from './quota';

export type HolderKind = 'to' | 'cc' | 'bcc' | 'sender-copy';

export interface Holder {
  userId: string;
  address: string;
  kind: HolderKind;
  /** The holder's box record (ciphertext). */
  box: Uint8Array;
  folder: FolderName;
  read?: boolean;
  /** Set by the holder's metadata filters (filters.ts). */
  starred?: boolean;
  labelIds?: readonly string[];
  /** Must this holder get it (the sender's own copy: no room means nothing is stored)? */
  required?: boolean;
  /** Bytes of this mail already charged to this holder (their uploads). */
  alreadyCharged?: bigint;
  /** Bytes past the quota this holder's copy may use (the server's delivery reports: quota.ts). */
  allowance?: bigint;
  /** An explicit thread (the sender's reply joins the entry it answers). */
  threadId?: string;
}

export interface StoreInput {
  mailId: string;
  senderUserId: string | null;
  senderAddress: string;
  to: readonly string[];
  cc: readonly string[];
  protection: 'e2ee' | 'server';
  envelope: Uint8Array;
  manifest: Uint8Array;
  body: Uint8Array;
  /** The sealed summary (docs/crypto.md §5.15), when the sealer wrote one. */
  summary?: Uint8Array;
  /** Completed blob ids of the attachment pieces, in piece order (1…). */
  attachments: readonly string[];
  attachmentSizes: readonly number[];
  /** Total ciphertext bytes of the attachment blobs. */
  blobBytes: bigint;
  /** The message this one answers, if known. */
  parentId: string | null;
  /** Mail from outside: the keyed hash of its own Message-ID, for threading what answers it. */
  originRef?: Uint8Array;
  sentAt: Date;
  holders: readonly Holder[];
  /** Standard mail: the message key boxed to the server, and the outside recipients to relay to. */
  serverBox?: Uint8Array;
  outbound?: readonly string[];
  /**
   * The public copy of a mail sent as expiring links: one link per outside recipient, each with
   * a notice for the relay to mail. Such a copy has no holders; its bytes are charged to
   * `chargeTo` (the sender) until it expires.
   */
  links?: readonly { id: string; recipient: string; passwordBox: Uint8Array; secretBox: Uint8Array; expiresAt: Date; sourceMessageId: string; senderUserId: string }[];
  chargeTo?: string;
  /** Bytes of the public copy already charged to `chargeTo` (its attachments, when uploaded). */
  chargeToAlreadyCharged?: bigint;
  /**
   * Mail for a mailbox without keys yet (held.ts): no entry, a held_mail row, and the mail's
   * bytes charged to that mailbox now (no room: QuotaExceededError, nothing stored).
   */
  held?: { userId: string; address: string; folder: FolderName };
  /**
   * Runs first inside the store's transaction: a draft saved again under its own message id
   * drops the saved one here, so the id is free and its attachment blobs can be taken again,
   * all or nothing with the new save (apps/api mail/legal-hold.ts `dropDraftForResave`).
   */
  before?: (tx: Tx) => Promise<void>;
  /**
   * Runs last inside the store's transaction, with what was stored: a mail sent with expiring
   * links stores its public copy here, so the mail and its copy are stored together or not at all.
   */
  after?: (tx: Tx, stored: Stored) => Promise<void>;
}

export type StoreTx = Parameters<Parameters<Db['$transaction']>[0]>[0];
type Tx = StoreTx;

export interface Stored {
  messageId: string;
  size: bigint;
  entries: { userId: string; address: string; entryId: string; folder: FolderName; kind: HolderKind; threadId: string }[];
  /** Holders whose mailbox had no room (MAILBOX_FULL); the others have the mail. */
  refused: { address: string; code: 'MAILBOX_FULL' }[];
}

/** Thrown when a required holder (the sender) has no room; nothing was stored. */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
}

/** Thrown when the mail id exists already; nothing was stored. */
export class DuplicateMailError extends Error {
  override readonly name = 'DuplicateMailError';
}

/** Thrown when an attachment blob was taken by another mail meanwhile; nothing was stored. */
export class BlobTakenError extends Error {
  override readonly name = 'BlobTakenError';
}

/** Stores a sealed mail for its holders (docs/mail.md §3). */
export async function storeMessage(db: Db, input: StoreInput): Promise<Stored> {
  // A large body (tens of MiB) takes more than Prisma's default 5 s to write on a busy machine:
  // running out of time would answer a 4xx the sender retries for days, never succeeding.
  return db.$transaction((tx) => storeMessageIn(tx, input), STORE_TRANSACTION);
}

/** storeMessage inside a transaction the caller holds (`after` hooks store a second mail so). */
export async function storeMessageIn(tx: Tx, input: StoreInput): Promise<Stored> {
  const size = BigInt(input.envelope.length + input.manifest.length + input.body.length + (input.summary?.length ?? 0)) + input.blobBytes;
  await input.before?.(tx);
  const message = await tx.message
    .create({
      data: {
        mailId: input.mailId,
        senderUserId: input.senderUserId,
        senderAddress: input.senderAddress,
        toAddresses: [...input.to],
        ccAddresses: [...input.cc],
        protection: input.protection,
        envelope: input.envelope as Uint8Array<ArrayBuffer>,
        manifest: input.manifest as Uint8Array<ArrayBuffer>,
        body: input.body as Uint8Array<ArrayBuffer>,
        bodySize: input.body.length,
        attachmentSizes: input.attachmentSizes.map(BigInt),
        size,
        parentId: input.parentId,
        sentAt: input.sentAt,
        ...(input.serverBox ? { serverBox: input.serverBox as Uint8Array<ArrayBuffer> } : {}),
        ...(input.summary ? { summary: input.summary as Uint8Array<ArrayBuffer> } : {}),
        ...(input.originRef ? { originRef: input.originRef as Uint8Array<ArrayBuffer> } : {}),
      },
    })
    .catch((err: { code?: string }) => {
      throw err.code === 'P2002' ? new DuplicateMailError(`mail ${input.mailId} exists already`) : err;
    });
  for (const [i, id] of input.attachments.entries()) {
    const n = await tx.blob.updateMany({ where: { id, messageId: null }, data: { messageId: message.id, pieceIndex: i + 1 } });
    if (n.count !== 1) throw new BlobTakenError(`blob ${id} is not free`);
  }
  if (input.chargeTo && !(await charge(tx, input.chargeTo, size - (input.chargeToAlreadyCharged ?? 0n)))) throw new QuotaExceededError('no room for the public copy');
  if (input.held) {
    if (!(await charge(tx, input.held.userId, size))) throw new QuotaExceededError(`no room for ${input.held.address}`);
    await tx.heldMail.create({ data: { messageId: message.id, userId: input.held.userId, address: input.held.address, folder: input.held.folder, heldAt: input.sentAt } });
  }
  for (const l of input.links ?? []) {
    await tx.mailLink.create({
      data: { id: l.id, messageId: message.id, sourceMessageId: l.sourceMessageId, senderUserId: l.senderUserId, recipient: l.recipient, passwordBox: l.passwordBox as Uint8Array<ArrayBuffer>, secretBox: l.secretBox as Uint8Array<ArrayBuffer>, expiresAt: l.expiresAt, createdAt: input.sentAt },
    });
    await tx.outboundDelivery.create({ data: { messageId: message.id, recipient: l.recipient, linkId: l.id, createdAt: input.sentAt, nextAttemptAt: input.sentAt, updatedAt: input.sentAt } });
  }
  if (input.outbound?.length) await tx.outboundDelivery.createMany({ data: input.outbound.map((recipient) => ({ messageId: message.id, recipient, createdAt: input.sentAt, nextAttemptAt: input.sentAt, updatedAt: input.sentAt })) });
  const entries: Stored['entries'] = [];
  const refused: Stored['refused'] = [];
  for (const h of input.holders) {
    if (!(await charge(tx, h.userId, size - (h.alreadyCharged ?? 0n), h.allowance))) {
      if (h.required) throw new QuotaExceededError(`no room for ${h.address}`);
      refused.push({ address: h.address, code: 'MAILBOX_FULL' });
      continue;
    }
    // A reply joins the holder's own thread of the message it answers, when they hold it.
    const parentEntry = !h.threadId && input.parentId ? await tx.mailboxEntry.findFirst({ where: { userId: h.userId, messageId: input.parentId }, select: { threadId: true } }) : null;
    const threadId = h.threadId ?? parentEntry?.threadId ?? randomUUID();
    const entry = await tx.mailboxEntry.create({
      data: { userId: h.userId, messageId: message.id, folder: h.folder, role: h.kind, box: h.box as Uint8Array<ArrayBuffer>, threadId, read: !!h.read, starred: !!h.starred, labelIds: [...(h.labelIds ?? [])], size, receivedAt: input.sentAt },
    });
    entries.push({ userId: h.userId, address: h.address, entryId: entry.id, folder: h.folder, kind: h.kind, threadId });
  }
  // A copy nobody got, kept for nothing else (no relay, link or held mail), is not stored: it
  // would be a row no mailbox shows and nothing ever deletes.
  if (!entries.length && refused.length && !input.outbound?.length && !input.links?.length && !input.held && !input.chargeTo) throw new QuotaExceededError(`no room for ${refused.map((r) => r.address).join(', ')}`);
  const stored = { messageId: message.id, size, entries, refused };
  await input.after?.(tx, stored);
  return stored;
}

/** Time limits of the store transaction: waiting for a connection, and the whole transaction. */
const STORE_TRANSACTION = { maxWait: 30_000, timeout: 180_000 } as const;

/** Replayed chains by user, valid while the chain's head is unchanged (replaying verifies every signature). */
const pukCache = new Map<string, { seqno: number; hash: string; key: { userId: string; generation: number; publicKeys: PublicKeys } | null }>();

/**
 * A user's newest per-user key as their stored chain says (the ingress seals inbound mail to
 * it); null when the user has not set up a device yet.
 */
export async function newestPerUserKey(db: Db, userId: string, known?: { seqno: number; hash: Uint8Array } | null): Promise<{ userId: string; generation: number; publicKeys: PublicKeys } | null> {
  // `known`: the chain's head read already (delivery-facts.ts); null: the user has no chain.
  const head = known !== undefined ? known : await db.sigchainLink.findFirst({ where: { userId }, orderBy: { seqno: 'desc' }, select: { seqno: true, hash: true } });
  if (!head) return null;
  const hash = Buffer.from(head.hash).toString('hex');
  const hit = pukCache.get(userId);
  if (hit && hit.seqno === head.seqno && hit.hash === hash) return hit.key;
  const links = await db.sigchainLink.findMany({ where: { userId }, orderBy: { seqno: 'asc' }, select: { bytes: true } });
  const state = replaySigchain(links.map((l) => l.bytes), { userId });
  const puk = state.puks.length ? currentPuk(state) : null;
  const key = puk ? { userId, generation: puk.generation, publicKeys: puk.keys } : null;
  if (state.length === head.seqno + 1) {
    if (pukCache.size > 10_000) pukCache.clear();
    pukCache.set(userId, { seqno: head.seqno, hash, key });
  }
  return key;
}
