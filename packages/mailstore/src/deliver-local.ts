/**
 * Server-sealed delivery to local mailboxes (MISSION §3 "Mail from outside", docs/mail.md §7):
 * a MIME message the server holds in memory — from the SMTP ingress, a bounce the relay writes,
 * a mailing list expansion — is parsed (mailparser), its body rebuilt with any
 * Authentication-Results inside, and body and every attachment sealed to each recipient's newest
 * per-user key and stored. No sender signature: clients label it "Server Encrypted". Nothing is
 * written anywhere in plaintext; the callers zero their buffers afterwards.
 */
import { loopFields, loopMarksOf, wouldLoop } from './loop-marks';
import { randomUUID } from 'node:crypto';
import type { AddressObject } from 'mailparser';
import { buildMime } from '@sealmail/client/identity';
import { mailLimits, type FolderName } from '@sealmail/contract';
import { createMailPieceEncryptor, type ManifestPiece, type MailRecipientKey } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import type { BlobStore } from './blob-store';
import { sealToBlobParts } from './attachment-parts';
import { parseStreamed, type AttachmentInfo, type StreamedMail } from './mime-stream';
import { publishMailEvents } from './events';
import { newestPerUserKey, QuotaExceededError, storeMessage, type Holder, type StoreInput, type Stored } from './store';
import { runServerFilters } from './filters';
import { sealJob, type SealJob, type SealResult } from './seal-job';
import type { RecipientFacts } from './delivery-facts';

/** Why a message cannot be delivered; `permanent` ones will not change on retry. */
export class LocalDeliveryError extends Error {
  constructor(
    readonly reason: 'malformed' | 'attachments-too-large' | 'no-keys' | 'mailbox-full',
    readonly permanent: boolean,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalDeliveryDeps {
  db: Db;
  blobs: BlobStore;
  /** This server's name, for the message ids it makes. */
  hostname: string;
  now: () => Date;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /**
   * The server's mail key (public half). With it, mail for a mailbox without keys yet is held
   * server-encrypted (held.ts) instead of refused with 'no-keys'.
   */
  serverPublicKey?: Uint8Array;
  /**
   * Stores the sealed mail (default: storeMessage, one transaction). The SMTP ingress passes its
   * group commit (group-commit.ts); `published`: the new-mail events went out with the commit.
   */
  store?: (input: StoreInput) => Promise<Stored & { published?: boolean }>;
  /** Seals each copy (the ingress's seal pool, seal-pool.ts); default: `sealJob` in this thread. */
  seal?: (job: SealJob) => Promise<SealResult>;
  /**
   * Keyed hashes of Message-IDs (the server's SecretBox): with it, mail from outside keeps a ref
   * of its own Message-ID, and a message answering another from outside joins its thread.
   */
  secrets?: { ref(purpose: string, value: string): Uint8Array };
}

export interface LocalDelivery {
  /** Envelope sender (used when the message has no From). */
  mailFrom: string;
  /** `allowance`: bytes past the quota this copy may use (the server's delivery reports: quota.ts). */
  recipients: readonly { address: string; userId: string; folder?: FolderName; read?: boolean; starred?: boolean; labelIds?: readonly string[]; allowance?: bigint }[];
  /**
   * Run each recipient's metadata filters (filters.ts; mail from outside): they may file, label,
   * star, mark read, and forward to verified addresses (through the outbound relay, from the
   * address the mail came to; never mail filed as spam).
   */
  filters?: boolean;
  /**
   * Mail that came in from outside (the SMTP ingress): it joins a conversation of ours only if
   * that conversation went outside (parentOf).
   */
  fromOutside?: boolean;
  /** Kept inside the sealed body (RFC 8601 results of the ingress's checks). */
  authResults?: readonly string[];
  /** Further headers to keep inside the sealed body (e.g. List-Id on list expansion). */
  extraHeaders?: readonly (readonly [string, string])[];
  /**
   * Also (or only) for outside recipients, relayed as standard mail by the outbound relay (a
   * list's outside members): the message is marked not-E2EE, its key boxed to the server's mail
   * key, and one outbound delivery queued per address, sent from `sender` (the list address).
   * `blobOwnerUserId` owns the attachment blobs when no local recipient does.
   */
  relay?: { to: readonly string[]; sender: string; serverPublicKey: Uint8Array; blobOwnerUserId: string };
  /**
   * Imported mail (docs/admin.md "Import"): the time to file it at, given the Date the message
   * names (default: now), and the message it answers when the importer knows it (default: the
   * one whose mail id is its In-Reply-To).
   */
  receivedAt?: (messageDate: Date | undefined) => Date;
  parentId?: string;
  /** The recipients' filters and sigchain heads, read already by the caller (delivery-facts.ts). */
  facts?: ReadonlyMap<string, RecipientFacts>;
  /**
   * `parseStreamed(raw)` done already by the caller (the SMTP ingress reads its spam signals from
   * the same parse): not parsed again here. Each sealed copy with attachments still streams them
   * from `raw` (sealCopy).
   */
  parsed?: StreamedMail;
}

const flat = (a: AddressObject | AddressObject[] | undefined) => (a ? (Array.isArray(a) ? a : [a]) : []).flatMap((x) => x.value.map((v) => v.address ?? '').filter(Boolean));
const bare = (id: string) => id.replace(/^<|>$/g, '');

/** The Message-IDs a message answers, nearest first: In-Reply-To, then References from the end (at most 10). */
export function answeredIds(parsed: { inReplyTo?: string | undefined; references?: string | string[] | undefined }): string[] {
  const ids = (v: string | string[] | undefined) => (Array.isArray(v) ? v : v ? [v] : []).flatMap((s) => s.match(/<[^<>\s]+>/g) ?? (s.trim() ? [s.trim()] : [])).map(bare);
  return [...new Set([...ids(parsed.inReplyTo), ...ids(parsed.references).reverse()])].filter(Boolean).slice(0, 10);
}

/**
 * The stored message `parsed` answers: the nearest id that names one — a mail of this server by
 * its Message-ID, or a mail from outside by the keyed hash of its own. For mail from outside
 * (`fromOutside`), a mail of ours counts only if it left the organisation (an outside address in
 * its To or Cc, or relayed to anyone outside): a conversation that never went out cannot be
 * answered from outside, so someone who learned a Message-ID of it cannot slip a mail into it
 * (docs/mail.md "Threads"). Such an id is passed over for the next one.
 */
async function parentOf(deps: LocalDeliveryDeps, parsed: Parameters<typeof answeredIds>[0], fromOutside: boolean): Promise<{ id: string } | null> {
  const ids = answeredIds(parsed);
  if (!ids.length) return null;
  const refs = deps.secrets ? ids.map((id) => Buffer.from(deps.secrets!.ref('message-id', id))) : [];
  const found = await deps.db.message.findMany({
    where: { OR: [{ mailId: { in: ids } }, ...(refs.length ? [{ originRef: { in: refs } }] : [])] },
    select: { id: true, mailId: true, originRef: true, toAddresses: true, ccAddresses: true, _count: { select: { deliveries: true } } },
    take: 20,
  });
  let ours: Set<string> | null = null;
  const wentOut = async (m: (typeof found)[number]) => {
    if (m.originRef || m._count.deliveries > 0) return true;
    ours ??= new Set((await deps.db.domain.findMany({ select: { name: true } })).map((d) => d.name.toLowerCase()));
    return [...m.toAddresses, ...m.ccAddresses].some((a) => !ours!.has(a.slice(a.lastIndexOf('@') + 1).toLowerCase()));
  };
  for (const [i, id] of ids.entries()) {
    const byRef = refs[i] ? found.find((m) => m.originRef && Buffer.from(m.originRef).equals(refs[i]!)) : undefined;
    if (byRef) return { id: byRef.id };
    const byId = found.find((m) => m.mailId === id);
    if (byId && (!fromOutside || (await wentOut(byId)))) return { id: byId.id };
  }
  return null;
}

/**
 * What marks a message as automated (RFC 3834 §5: Auto-Submitted), kept on a copy the server
 * relays on (a filter's forward, a list's copy; the relay sends it on), so a responder past it
 * stays quiet too; a field the caller sets itself wins.
 */
function automatedFields(headerLines: readonly { key: string; line: string }[], own: readonly (readonly [string, string])[]): [string, string][] {
  const out: [string, string][] = [];
  for (const name of ['Auto-Submitted']) {
    if (own.some(([k]) => k.toLowerCase() === name.toLowerCase())) continue;
    const line = headerLines.find((h) => h.key === name.toLowerCase())?.line;
    const value = line?.slice(line.indexOf(':') + 1).replace(/\s+/g, ' ').trim();
    if (value && /^[\x21-\x7e][\x20-\x7e]{0,200}$/.test(value) && !(name === 'Auto-Submitted' && /^no\b/i.test(value))) out.push([name, value]);
  }
  return out;
}

/** Stands in for a sender that names no address at all (a null sender without a From): never a real host. */
export const UNKNOWN_SENDER = 'unknown-sender@sender.invalid';

/**
 * Who a message is from, as the recipient will see it: the first address of the From field
 * (group members included), else the Sender field, else the envelope sender; a message that names
 * none (`From: <>`, a group without members, a bounce with a null sender and no From) is still
 * delivered, from `UNKNOWN_SENDER`, keeping whatever display name it gave.
 */
function senderOf(parsed: { from?: AddressObject | undefined; headers: Map<string, unknown> }, mailFrom: string): { name: string; address: string } {
  const members = (parsed.from?.value ?? []).flatMap((a) => (a.group ? [a, ...a.group] : [a]));
  const named = members.find((a) => a.address?.includes('@'));
  const name = named?.name || members.find((a) => a.name)?.name || '';
  if (named) return { name: named.name ?? '', address: named.address! };
  const sender = (parsed.headers.get('sender') as AddressObject | undefined)?.value.find((a) => a.address?.includes('@'));
  if (sender) return { name: sender.name || name, address: sender.address! };
  return { name, address: mailFrom.includes('@') ? mailFrom : UNKNOWN_SENDER };
}

/** Seals `raw` to each recipient and stores it; resolves with the stored message id. @throws LocalDeliveryError. */
export async function deliverLocal(deps: LocalDeliveryDeps, raw: Uint8Array, d: LocalDelivery): Promise<{ messageId: string; entries: { userId: string; entryId: string; folder: string }[]; held: number }> {
  // Attachments are only counted here; each sealed copy streams them from `raw` again (sealCopy).
  const parsed = d.parsed ?? (await parseStreamed(raw).catch((err: unknown) => {
    deps.logger.info({ code: (err as { code?: string }).code }, 'mail: malformed message');
    throw new LocalDeliveryError('malformed', true, 'The message could not be parsed (malformed MIME or headers too large)');
  }));
  const attachments = parsed.attachments;
  const attachmentBytes = attachments.reduce((n, a) => n + a.size, 0);
  if (attachmentBytes > mailLimits.attachmentBytes) throw new LocalDeliveryError('attachments-too-large', true, 'Attachments exceed 25 MiB; message refused');

  // Metadata filters (filters.ts): on what the server sees — senders, the address it came to,
  // List-Id, size, attachments. Spam stays in Spam (a filter does not rescue it).
  const forwards: { userId: string; from: string; to: string[] }[] = [];
  let recipients = d.recipients;
  if (d.filters) {
    const filtered: LocalDelivery['recipients'][number][] = [];
    const fromHeader = parsed.from?.value[0]?.address ?? '';
    // mailparser files List-* headers under 'list' ({ id: { id, name } }).
    const listHeader = parsed.headers.get('list') as { id?: { id?: string } } | undefined;
    const listIds = [...(listHeader?.id?.id ? [listHeader.id.id] : []), ...(d.extraHeaders ?? []).filter(([k]) => k.toLowerCase() === 'list-id').map(([, v]) => v)];
    for (const r of d.recipients) {
      const out = await runServerFilters(deps.db, r.userId, { senders: [d.mailFrom, fromHeader].filter(Boolean), recipient: r.address, listIds, size: raw.length, attachments: attachments.length }, d.facts?.get(r.userId)?.filters);
      if (!out || r.folder === 'spam') {
        filtered.push(r);
        continue;
      }
      filtered.push({ ...r, folder: out.folder ?? r.folder ?? 'inbox', read: r.read || out.read, starred: out.starred, labelIds: out.labelIds });
      if (out.forwardTo.length) forwards.push({ userId: r.userId, from: r.address, to: out.forwardTo });
    }
    recipients = filtered;
  }

  // The recipients' keys (a chain may have changed since they were checked). A mailbox without
  // keys yet gets its own copy, held server-encrypted until its first device is set up (held.ts).
  const keyed: { r: LocalDelivery['recipients'][number]; key: MailRecipientKey }[] = [];
  const keyless: LocalDelivery['recipients'][number][] = [];
  for (const r of recipients) {
    const k = await newestPerUserKey(deps.db, r.userId, d.facts?.get(r.userId)?.head);
    if (k) keyed.push({ r, key: k });
    else if (deps.serverPublicKey) keyless.push(r);
    else throw new LocalDeliveryError('no-keys', false, `Mailbox ${r.address} is not set up yet; try again later`);
  }

  // A copy that would go round again is not relayed (loop-marks.ts): the local copies still land.
  const marks = loopMarksOf(parsed.headerLines);
  let relay = d.relay?.to.length ? d.relay : undefined;
  if (relay && wouldLoop(marks, relay.sender)) {
    deps.logger.info({ via: relay.sender, marks: marks.length }, 'mail: loop, not relayed again');
    relay = undefined;
  }
  let first: Awaited<ReturnType<typeof sealCopy>> | null = null;
  const entries: { userId: string; entryId: string; folder: string }[] = [];
  if (keyed.length || relay) {
    first = await sealCopy(deps, raw, parsed, attachments, d, { keyed, relay });
    entries.push(...first.entries);
    if (first.entries.length === 0 && keyed.length > 0 && !relay) throw new LocalDeliveryError('mailbox-full', false, 'Mailbox full');
  }
  for (const r of keyless) {
    const held = await sealCopy(deps, raw, parsed, attachments, d, { keyed: [], held: r });
    first ??= held;
  }
  // Forwards: a copy relayed as standard mail from the address the mail came to (DKIM-signed by
  // our domain, so the receiver's DMARC aligns), the server box erased once relayed.
  for (const f of deps.serverPublicKey ? forwards : []) {
    if (wouldLoop(marks, f.from)) {
      deps.logger.info({ via: f.from, marks: marks.length }, 'mail: loop, not forwarded again');
      continue;
    }
    await sealCopy(deps, raw, parsed, attachments, d, { keyed: [], relay: { to: f.to, sender: f.from, serverPublicKey: deps.serverPublicKey!, blobOwnerUserId: f.userId } });
    deps.logger.info({ forwards: f.to.length }, 'mail: forwarded by a filter');
  }
  deps.logger.info({ messageId: first?.messageId, recipients: entries.length, held: keyless.length, bytes: raw.length }, 'mail: delivered locally');
  return { messageId: first?.messageId ?? '', entries, held: keyless.length };
}

/**
 * One sealed copy: to the keyed recipients (and the relay), or held for one mailbox without keys
 * (no recipient box; the message key boxed to the server's mail key; charged to that mailbox).
 */
async function sealCopy(
  deps: LocalDeliveryDeps,
  raw: Uint8Array,
  parsed: StreamedMail,
  attachments: readonly AttachmentInfo[],
  d: LocalDelivery,
  copy: { keyed: { r: LocalDelivery['recipients'][number]; key: MailRecipientKey }[]; relay?: NonNullable<LocalDelivery['relay']>; held?: LocalDelivery['recipients'][number] },
): Promise<{ messageId: string; entries: { userId: string; entryId: string; folder: string }[] }> {
  const { keyed, relay, held } = copy;
  // Attachments sealed as pieces and stored as blobs (owned by the first recipient).
  const mailId = `${randomUUID()}@${deps.hostname}`;
  const pieces: ManifestPiece[] = [];
  const blobIds: string[] = [];
  const blobSizes: bigint[] = [];
  const owner = held?.userId ?? keyed[0]?.r.userId ?? relay!.blobOwnerUserId;
  try {
    // Each attachment sealed as it is decoded from `raw` (a second, streaming parse), and written a
    // blob part at a time (attachment-parts.ts): neither the decoded attachment nor its ciphertext
    // is ever held whole.
    if (attachments.length) {
      const again = await parseStreamed(raw, async ({ index }, content) => {
        const enc = await createMailPieceEncryptor({ messageId: mailId, index: index + 1, kind: 'attachment' });
        const blob = await deps.db.blob.create({ data: { ownerUserId: owner, declaredSize: 0 } });
        blobIds.push(blob.id);
        const sealed = await sealToBlobParts(deps.blobs, blob.id, enc, content);
        await deps.db.blob.update({ where: { id: blob.id }, data: { declaredSize: sealed.size, size: sealed.size, parts: sealed.parts, completedAt: deps.now(), sha256: sealed.sha256 } });
        blobSizes.push(BigInt(sealed.size));
        pieces.push(sealed.piece);
      });
      if (again.attachments.length !== attachments.length) throw new Error('the message parsed differently the second time');
    }

    // The body piece: the headers that matter, text and HTML, the authentication results, and a
    // placeholder per attachment.
    const from = senderOf(parsed, d.mailFrom);
    const senderAddress = from.address.toLowerCase();
    const mime = buildMime({
      from,
      to: flat(parsed.to),
      cc: flat(parsed.cc),
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : undefined,
      date: parsed.date ?? deps.now(),
      messageId: bare(parsed.messageId ?? mailId),
      inReplyTo: parsed.inReplyTo ? bare(parsed.inReplyTo) : undefined,
      references: (Array.isArray(parsed.references) ? parsed.references : parsed.references ? [parsed.references] : []).map(bare),
      attachments: attachments.map((a) => ({ filename: a.filename ?? 'attachment', contentType: a.contentType || 'application/octet-stream', size: a.size })),
      extraHeaders: [...(d.authResults ?? []).map((v) => ['Authentication-Results', v] as const), ...(d.extraHeaders ?? []), ...(relay ? [...loopFields(loopMarksOf(parsed.headerLines), relay.sender), ...automatedFields(parsed.headerLines, d.extraHeaders ?? [])] : [])],
    });

    // The sealed summary a list opens without the body (docs/crypto.md §5.15).
    const summary = { subject: parsed.subject ?? '', fromName: from.name, fromAddress: from.address, snippet: (parsed.text ?? '').slice(0, 2000).replace(/\s+/g, ' ').trim(), attachments: attachments.length, sealedHeaders: [] };
    const serverPublicKey = relay?.serverPublicKey ?? (held ? deps.serverPublicKey : undefined);
    const sealed = await (deps.seal ?? sealJob)({ mail: { messageId: mailId, sender: { kind: 'external', address: senderAddress }, pieces: [{ kind: 'body', plaintext: mime }, ...pieces.map((p) => ({ kind: 'attachment' as const, encrypted: p }))], to: keyed.map((k) => k.key), summary, ...(relay ? { notE2EE: true } : {}) }, ...(serverPublicKey ? { serverPublicKey } : {}) }).finally(() => mime.fill(0));
    const serverBox = sealed.serverBox;
    const parent = d.parentId ? { id: d.parentId } : await parentOf(deps, parsed, !!d.fromOutside);
    const ownId = parsed.messageId ? bare(parsed.messageId) : '';
    const holders: Holder[] = sealed.boxes.map((b, i) => ({ userId: b.userId, address: keyed[i]!.r.address, kind: 'to', box: b.record, folder: keyed[i]!.r.folder ?? 'inbox', ...(keyed[i]!.r.read !== undefined ? { read: keyed[i]!.r.read } : {}), ...(keyed[i]!.r.starred ? { starred: true } : {}), ...(keyed[i]!.r.labelIds?.length ? { labelIds: keyed[i]!.r.labelIds } : {}), ...(keyed[i]!.r.allowance ? { allowance: keyed[i]!.r.allowance } : {}) }));
    const stored: Stored & { published?: boolean } = await (deps.store ?? ((input: StoreInput) => storeMessage(deps.db, input)))({
      mailId,
      senderUserId: null,
      // Relayed copies go out from the relaying address (the list), which signs them (DKIM).
      senderAddress: relay ? relay.sender : senderAddress,
      to: flat(parsed.to),
      cc: flat(parsed.cc),
      protection: 'server',
      envelope: sealed.envelope,
      manifest: sealed.manifest,
      body: sealed.pieces[0]!,
      ...(sealed.summary ? { summary: sealed.summary } : {}),
      attachments: blobIds,
      attachmentSizes: attachments.map((a) => a.size),
      blobBytes: blobSizes.reduce((n, s) => n + s, 0n),
      parentId: parent?.id ?? null,
      ...(deps.secrets && ownId ? { originRef: deps.secrets.ref('message-id', ownId) } : {}),
      sentAt: d.receivedAt ? d.receivedAt(parsed.date) : deps.now(),
      holders,
      ...(serverBox ? { serverBox } : {}),
      ...(relay ? { outbound: [...relay.to] } : {}),
      ...(held ? { held: { userId: held.userId, address: held.address, folder: held.folder ?? 'inbox' } } : {}),
    });
    // Open mailboxes hear about it (API processes LISTEN); the mail is stored whether or not this works.
    if (!stored.published) await publishMailEvents(deps.db, stored.entries.map((e) => ({ userId: e.userId, event: { entryId: e.entryId, folder: e.folder, kind: 'new' as const } }))).catch((err: unknown) => deps.logger.warn({ err }, 'mail: event not published'));
    return { messageId: stored.messageId, entries: stored.entries };
  } catch (err) {
    // Nothing half-stored: uploads of a message that was not stored go away.
    if (blobIds.length) await deps.db.blob.deleteMany({ where: { id: { in: blobIds }, messageId: null } }).catch(() => undefined);
    throw err instanceof QuotaExceededError ? new LocalDeliveryError('mailbox-full', false, 'Mailbox full') : err;
  }
}
