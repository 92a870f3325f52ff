/**
 * End-to-end-encrypted mail on the device (MISSION §3–§4, docs/mail.md), shared by the web
 * client's key worker and the CLI. Sending: every recipient's chain is verified (and pinned)
 * before anything is sealed to their newest PUK; attachments are encrypted in chunks while they
 * upload; the body piece is MIME. Reading: the holder's box is opened with the PUK generation it
 * names, the sender's signature is checked against the sender's verified chain, and nothing is
 * shown unless the box, manifest and pieces authenticate.
 */
import {
  delegationAt,
  deviceActiveAt,
  createMailPieceDecryptor,
  createMailPieceEncryptor,
  createPasswordBox,
  createServerBox,
  CryptoError,
  encodeLinkReplyGrant,
  linkReplySecret,
  verifyLinkReplyTag,
  currentPuk,
  decodeEnvelope,
  decodeRecipientBox,
  fromBase64Url,
  openManifest,
  openMailPiece,
  openMailSummary,
  openRecipientBoxAsync,
  openSelfBox,
  pieceCiphertextLength,
  WHOLE_PIECE_MAX,
  sealMail,
  sealSelfBox,
  SigchainError,
  toBase64Url,
  type Manifest,
  type ManifestPiece,
  type MailRecipientKey,
  type PerUserKey,
  type SignatureStatus,
  type MailSender,
  type SigchainState,
  toHex,
} from '@sealmail/crypto';
import { mailLimits, myLists, type EntryRow, type EntryView, type FolderName, type LinkExpiry } from '@sealmail/contract';
import { ApiClientError, type ApiClient } from '../api';
import { TrustError, type Identity, type SafetyNumberView, type VerifiedChain } from '../identity';
import { buildMime, parseMime, type MailAddress, type ParsedMime } from './mime';
import { Batcher } from './batch';
import { PartUploader } from './upload-parts';
import { ROW_CACHE_MS, rowKey, sealedDigest, type CachedRow, type SummaryCache } from './summary-cache';

export type MailErrorCode =
  | 'NO_E2EE_ROUTE'
  | 'RECIPIENT_HAS_NO_KEYS'
  | 'RECIPIENT_CHAIN_INVALID'
  | 'TOO_LARGE'
  | 'NO_RECIPIENTS'
  | 'OPEN_FAILED'
  | 'NO_SUCH_ATTACHMENT'
  | 'INVALID_LABEL'
  | 'INVALID_FOLDER'
  | 'DRAFT_GONE';

export class MailError extends Error {
  override readonly name = 'MailError';
  constructor(
    readonly code: MailErrorCode,
    message: string,
    readonly address?: string,
  ) {
    super(message);
  }
}

/** A file to attach: a browser `File` fits, and so does `fileSource()` in the CLI. */
export interface AttachmentSource {
  name: string;
  type: string;
  size: number;
  stream(): ReadableStream<Uint8Array>;
  /** An inline image the HTML names as `cid:<contentId>` (sealed as a piece like any attachment; docs/mail.md "Inline images"). */
  contentId?: string;
  /** The caller's name for these bytes across a draft's saves (`DraftSession`): the same id, the same bytes. */
  id?: string;
}

/**
 * What the saves of one draft share (docs/mail.md "Drafts"): the draft's message id, kept from
 * save to save, and the attachment pieces already sealed and uploaded under it, by place. A save
 * keeps a piece whose place holds the same file (`AttachmentSource.id`) instead of sealing and
 * uploading it again (a piece is sealed for its message id and its place); the server lets the
 * new save take it over when it replaces the saved draft.
 */
export class DraftSession {
  messageId: string | null = null;
  pieces: ({ fileId: string; blobId: string; piece: ManifestPiece } | null)[] = [];

  /** Forgets the id and the pieces (their keys zeroed): the next save seals everything afresh. */
  reset(): void {
    for (const p of this.pieces) p?.piece.key.fill(0);
    this.messageId = null;
    this.pieces = [];
  }
}

/** How `Mailer.send` sends (drafts, scheduled send, a draft's saves, progress). */
export interface SendOptions {
  draft?: boolean;
  replacesDraft?: string;
  sendAt?: Date;
  session?: DraftSession;
  /** Attachment ciphertext the server has taken so far, of all there is to send (first with 0); not called when nothing is to be uploaded. */
  onProgress?: (sent: number, total: number) => void;
}

export interface OutgoingMail {
  to: readonly string[];
  cc?: readonly string[];
  bcc?: readonly string[];
  subject: string;
  text: string;
  html?: string;
  attachments?: readonly AttachmentSource[];
  /** The opened mail this answers (threads the reply). */
  inReplyTo?: Pick<OpenedMail, 'entryId' | 'mime'>;
  /**
   * Recipients who cannot get it end to end (outside this server) get it as standard mail: the
   * server is given the key to relay it, and the mail is labelled "Server Encrypted". Without
   * this, such recipients make the send fail with NO_E2EE_ROUTE before anything is sent.
   */
  allowStandard?: boolean;
  /**
   * Recipients outside this server get an expiring password link instead (MISSION §3): a copy
   * sealed separately, opened in their browser with the password in the link's fragment. Takes
   * precedence over `allowStandard`.
   */
  links?: { expiresIn: LinkExpiry };
  /**
   * Send as one of the user's own addresses (an alias an admin gave them, or a +tag form); the
   * server refuses any other (FROM_NOT_OWNED). Default: the user's own address.
   */
  from?: string;
}

/**
 * How a mail was protected, as far as this device verified it (MISSION §3): "E2E Encrypted" only
 * for a valid signature of a device that was approved and active at the chain position the mail
 * names, from the address that key history belongs to; "Server Encrypted" for mail the server
 * sealed (from outside, or relayed) or that carries no signature; "Unverified" for a signature
 * that does not hold, or a sealed sender that is not the signer; "Link reply" for an outside
 * recipient's answer through an expiring link whose tag this device checked (never signed: they
 * have no key; docs/crypto.md §7.6); "Imported" for mail this user's own device imported from a
 * file (signed by that device; who wrote it cannot be verified).
 */
export type ProtectionLabel = 'E2E Encrypted' | 'Server Encrypted' | 'Unverified' | 'Link reply' | 'Imported';

/** A mail as a list shows it. `mime` is null when the body was too large to come with the page. */
export interface MailSummary {
  entryId: string;
  entry: EntryView;
  protection: ProtectionLabel;
  subject: string;
  from: MailAddress;
  snippet: string;
  attachmentCount: number;
  /** The whole decrypted body piece (for the on-device search index). */
  mime: ParsedMime;
  /** Set when the list should warn (see {@link OpenedMail.warning}). */
  warning: string | null;
  /** See {@link OpenedMail.sentBy}. */
  sentBy: string | null;
}

/**
 * Another mailbox this device uses as a delegate (packages/client/src/delegation.ts): its keys
 * come from the mailbox key boxes, checked against its verified key history; its entries from
 * the delegation routes.
 */
export interface MailboxAccess {
  readonly userId: string;
  readonly address: string;
  /** Every key generation of the mailbox this delegate holds (verified against its chain). */
  keys(): Promise<PerUserKey[]>;
  /** The mailbox's verified key history (its newest key gets the Sent copy; its head goes into the envelope). */
  chain(): Promise<SigchainState>;
  listEntries(opts: { folder?: FolderName; cursor?: string | null; limit?: number }): Promise<{ entries: EntryView[]; cursor: string | null }>;
  getEntry(entryId: string): Promise<EntryView>;
}

/** What this device established about a device sender before opening the box. */
interface SenderCheck {
  /** The signing keys to accept (the one device, if it may sign at the mail's position). */
  signingKeys: Uint8Array[];
  /** The address whose verified chain holds the signer; null when the sender could not be found. */
  address: string | null;
  /** Why the mail cannot be verified, even with a valid signature. */
  problem: string | null;
  state: SigchainState | null;
  /** The sender's history was reset (TrustError RESET): the address, for the reader to offer acceptance. */
  reset?: string;
  /** Sent by a delegate: the mailbox's verified address it was sent as (the grant was checked). */
  onBehalfOf?: string;
}

export interface OpenedMail {
  entryId: string;
  entry: EntryView;
  protection: ProtectionLabel;
  signature: SignatureStatus;
  /** Set when the reader should be warned (signature invalid, unknown sender, forged From, fork). */
  warning: string | null;
  /**
   * Who sent it, as shown: for mail signed by a user's device, the address whose pinned key
   * history holds the signing device (never the sealed `From:` alone); for mail from outside,
   * the sealed `From:` (checked by SPF/DKIM/DMARC at the ingress, labelled Server Encrypted).
   */
  sender: MailAddress;
  /** For a verified device sender: their safety number and whether the user verified it. */
  senderSafety: SafetyNumberView | null;
  /** Mail sent from an alias of a verified user: that user's own address (the chain it was verified under). */
  senderVia?: string;
  /** The sender started their key history afresh since this device knew them: the address whose reset the user may accept. */
  senderReset: string | null;
  /**
   * Set when a delegate sent it as `sender` (docs/sigchain.md §3.2): the delegate's verified
   * address. Only for a grant with send-as this device found in the sender's key history; the
   * label then reads "sent by <sentBy> on behalf of <sender>".
   */
  sentBy: string | null;
  mime: ParsedMime;
  /** For the sender's own copy: the BCC recipients' user ids (from the sealed box, checked against the envelope's commitment). */
  bcc: readonly string[];
  attachments: { piece: number; filename: string; contentType: string; size: number; contentId?: string }[];
  /**
   * A draft this user's own device saved, as this device verified it: its own copy (sender-copy
   * box), signed by one of this user's devices, sealed to nobody else. Only such a mail is
   * continued as a draft (Edit draft), whatever folder the server files it in.
   */
  ownDraft: boolean;
}

/** Adds one header field (folded at 76 characters) at the top of a built body piece. */
export function withHeader(mime: Uint8Array, name: string, value: string): Uint8Array {
  const folded = (value.match(/.{1,76}/g) ?? ['']).join('\r\n ');
  const head = new TextEncoder().encode(`${name}: ${folded}\r\n`);
  const out = new Uint8Array(head.length + mime.length);
  out.set(head);
  out.set(mime, head.length);
  return out;
}

/** One turn of the event loop (`setImmediate` where there is one: no clamping of nested timers). */
const nextTurn = () => new Promise<void>((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));

const drain = async (stream: ReadableStream<Uint8Array>, each: (chunk: Uint8Array) => Promise<void>) => {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    await each(value);
  }
};

/**
 * A row of a mail list ({@link Mailer.page}): what the sealed summary (or, for mail without one,
 * the body) says, as this device verified it. `source` says where it came from: this device's
 * cache of rows it verified before, the sealed summary (box + manifest + summary opened, no
 * body), or the body (mail sealed without a summary, a draft, or a summary that failed to verify:
 * then `summaryRejected` is set and the row shows what the authenticated body says).
 */
export interface ListedMail extends Omit<CachedRow, 'at'> {
  entryId: string;
  /** The row as the list gave it (flags, folder, labels: the server's; no ciphertexts). */
  entry: EntryRow;
  source: 'cache' | 'summary' | 'body';
  summaryRejected?: true;
}

/**
 * What `Mailer.send` does after the server refused to replace the saved draft (docs/mail.md
 * "Drafts"); null: nothing, the refusal stands.
 * - The draft is gone (deleted, or saved again on another device: `NOT_FOUND` on
 *   `body.replacesDraft`): a draft save is saved as a new draft (without replacing), so an open
 *   composer keeps its text saved instead of failing on every save; a send answers `'gone'`, and
 *   the caller tells the person so (the next send goes as a new mail): sent silently, a mail whose
 *   first send went through but whose answer was lost would go twice.
 * - The draft cannot be replaced in place (kept under legal hold: `CONFLICT` on
 *   `body.replacesDraft`; a kept piece refused: `MAIL_INVALID` on `body.attachments`): the same,
 *   under a fresh message id, every piece sealed and uploaded again, as a first save would.
 * Any other refusal (a mail id taken, a genuinely invalid mail) is not tried again.
 */
export function afterDraftRefusal(err: unknown, opts: SendOptions): SendOptions | 'gone' | null {
  if (!opts.replacesDraft || !(err instanceof ApiClientError)) return null;
  if (err.code === 'NOT_FOUND' && err.field === 'body.replacesDraft') {
    if (!opts.draft) return 'gone';
    const { replacesDraft: _gone, ...rest } = opts;
    return rest;
  }
  if (!opts.session?.messageId) return null;
  if ((err.code === 'CONFLICT' && err.field === 'body.replacesDraft') || (err.code === 'MAIL_INVALID' && err.field === 'body.attachments')) return opts;
  return null;
}

export class Mailer {
  /** Where {@link page} keeps the rows it verified (the browser: the key worker's encrypted store). */
  summaryCache: SummaryCache | null = null;
  private pukCache: PerUserKey[] | null = null;
  /** The PUK fetch under way, shared by whoever asks meanwhile (the key worker starts it beside the first page fetch). */
  private pukLoading: Promise<PerUserKey[]> | null = null;
  private myUserId: string | null = null;
  /** Senders' verified chains, kept for a minute so a page of mail costs one lookup per sender. */
  private readonly senderChains = new Map<string, { at: number; chain: ReturnType<Identity['verifiedChain']> }>();

  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    /** The signed-in user's address. */
    readonly address: string,
    /** The name in the From of sent mail; the user may change it in Settings, so it is kept settable. */
    public displayName = '',
    /** Set for another mailbox used as a delegate (reading it, and sending as it with send-as). */
    readonly mailbox?: MailboxAccess,
  ) {}

  private listEntries(opts: Parameters<ApiClient['listMail']>[0]) {
    return this.mailbox ? this.mailbox.listEntries(opts as { folder?: FolderName; cursor?: string | null; limit?: number }) : this.api.listMail(opts);
  }

  private getEntry(entryId: string) {
    return this.mailbox ? this.mailbox.getEntry(entryId) : this.api.getMail(entryId);
  }

  /** Drops a sender's cached chain (after the user accepted a reset of it). */
  forgetSender(address: string): void {
    this.senderChains.delete(address.trim().toLowerCase());
  }

  /** Every PUK generation this device holds (cached; refreshed when a box names a newer one). */
  /** @internal (also used by ../transfer) */
  async puks(generation?: number): Promise<PerUserKey[]> {
    const has = () => this.pukCache && (generation === undefined || this.pukCache.some((p) => p.generation === generation));
    if (!has() && this.pukLoading) await this.pukLoading.catch(() => undefined);
    if (!has()) {
      const load = (this.pukLoading = this.mailbox ? this.mailbox.keys() : this.identity.perUserKeys(this.address));
      try {
        this.pukCache = await load;
      } finally {
        if (this.pukLoading === load) this.pukLoading = null;
      }
    }
    return this.pukCache!;
  }

  private senderChain(address: string, fresh = false) {
    const hit = this.senderChains.get(address);
    if (!fresh && hit && Date.now() - hit.at < 60_000) return hit.chain;
    const chain = this.identity.verifiedChain(address);
    chain.catch(() => this.senderChains.delete(address));
    this.senderChains.set(address, { at: Date.now(), chain });
    return chain;
  }

  /** A recipient's newest PUK from their verified chain; refuses what cannot be E2EE. */
  private async recipientKey(address: string, verified?: Promise<VerifiedChain>): Promise<MailRecipientKey> {
    try {
      const { userId, state } = await (verified ?? this.identity.verifiedChain(address));
      if (!state || !state.puks.length) throw new MailError('RECIPIENT_HAS_NO_KEYS', `${address} is not set up yet: they have not signed in on a device, so there is no key to encrypt to. Nothing was sent; try again once they have signed in (mail from outside is held for them meanwhile).`, address);
      const puk = currentPuk(state);
      return { userId, generation: puk.generation, publicKeys: puk.keys };
    } catch (err) {
      if (err instanceof MailError) throw err;
      if (err instanceof ApiClientError && err.code === 'NOT_FOUND') {
        throw new MailError('NO_E2EE_ROUTE', `${address} cannot receive end-to-end-encrypted mail from you (not in your organisation, or cross-domain encryption is off); nothing was sent.`, address);
      }
      if (err instanceof TrustError) throw new MailError('RECIPIENT_CHAIN_INVALID', `${err.message} Nothing was sent.`, address);
      if (err instanceof SigchainError) throw new MailError('RECIPIENT_CHAIN_INVALID', `${address}'s key history does not verify (${err.code}); nothing was sent.`, address);
      throw err;
    }
  }

  /**
   * Encrypts an attachment in chunks while uploading it; answers its blob id and manifest entry.
   * The upload is created while the first chunks are sealed (no part goes before the server took
   * it, so a full mailbox still receives nothing), and the last part is on its way while the
   * ciphertext hash is computed (in browsers one native digest over the whole ciphertext, which
   * holds the thread: docs/performance.md "The web client's uploads and downloads, measured in Chromium").
   */
  /** @internal (also used by ../transfer) */
  async upload(messageId: string, index: number, file: AttachmentSource, onSent?: (bytes: number) => void): Promise<{ blobId: string; piece: ManifestPiece }> {
    const ciphertextSize = pieceCiphertextLength(file.size);
    let upload: { blobId: string; partBytes: number } | undefined;
    let refused: { err: unknown } | undefined;
    const created = this.api.createBlob(ciphertextSize).then(
      (u) => void (upload = u),
      (err: unknown) => void (refused = { err }),
    );
    // The whole ciphertext (at most an attachment's 25 MiB, sealed) in one buffer, sealed straight
    // into it; each part is sent as a view of it as soon as it is sealed (no gathering copy).
    const sealed = new Uint8Array(ciphertextSize);
    const enc = await createMailPieceEncryptor({ messageId, index, kind: 'attachment', output: sealed });
    const uploader = new PartUploader((part, bytes) => this.api.uploadPart(upload!.blobId, part, bytes).then((r) => (onSent?.(bytes.length), r)));
    let written = 0;
    let sent = 0;
    const sendSealed = async (out: Uint8Array, end = false) => {
      written += out.length;
      if (!upload && !refused) {
        // The first part is sealed while the create request is out; then the sealing waits for
        // its answer, so that the parts flow to the server as they are sealed. Sealing may run on
        // microtasks alone (Node's cipher, a file in memory): a turn of the event loop per push
        // lets the request go out meanwhile.
        if (end || written >= mailLimits.blobPartBytes) await created;
        else await nextTurn();
      }
      if (refused) throw refused.err;
      if (!upload) return;
      const { partBytes } = upload;
      for (; sent + partBytes <= written || (end && sent < written); sent += partBytes) await uploader.add(sealed.subarray(sent, Math.min(sent + partBytes, written)));
    };
    let seen = 0;
    const batch = new Batcher();
    await drain(file.stream(), async (chunk) => {
      seen += chunk.length;
      if (seen > file.size) throw new MailError('OPEN_FAILED', `${file.name} changed while it was read (more than ${file.size} bytes).`);
      const b = batch.add(chunk);
      if (b) await sendSealed(await enc.push(b));
    });
    await sendSealed(await enc.push(batch.take()));
    const last = await enc.end();
    if (seen !== file.size) throw new MailError('OPEN_FAILED', `${file.name} changed while it was read (${seen} bytes, expected ${file.size}).`);
    await sendSealed(last, true); // queued (and, with a free slot, on its way) before the hash
    const piece = await enc.piece();
    await uploader.done();
    await this.api.completeBlob(upload!.blobId);
    return { blobId: upload!.blobId, piece };
  }

  /**
   * Seals and sends a mail (or saves it as a draft, replacing `replacesDraft`; with `sendAt`,
   * hands it to the server to release at that time — docs/mail.md "Scheduled send").
   * @throws MailError (nothing sent), ApiClientError (the server refused it).
   */
  async send(mail: OutgoingMail, opts: SendOptions = {}): Promise<Awaited<ReturnType<ApiClient['sendMail']>>> {
    try {
      return await this.sendOnce(mail, opts);
    } catch (err) {
      const again = afterDraftRefusal(err, opts);
      if (again === 'gone') {
        throw new MailError('DRAFT_GONE', 'This draft was deleted or saved again on another device, so nothing was sent. Send again to send it as a new mail.');
      }
      if (!again) throw err;
      opts.session?.reset();
      return this.sendOnce(mail, again);
    }
  }

  private async sendOnce(mail: OutgoingMail, opts: SendOptions) {
    const norm = (l?: readonly string[]) => [...new Set((l ?? []).map((a) => a.trim().toLowerCase()).filter(Boolean))];
    const to = norm(mail.to);
    const cc = norm(mail.cc).filter((a) => !to.includes(a));
    const bcc = norm(mail.bcc).filter((a) => !to.includes(a) && !cc.includes(a));
    if (!opts.draft && to.length + cc.length + bcc.length === 0) throw new MailError('NO_RECIPIENTS', 'Name at least one recipient.');
    const files = mail.attachments ?? [];
    const total = files.reduce((n, f) => n + f.size, 0);
    if (total > mailLimits.attachmentBytes) throw new MailError('TOO_LARGE', `Attachments may be at most 25 MiB per message (these are ${(total / 1048576).toFixed(1)} MiB); nothing was sent.`);
    // Every key first, so a refusal happens before anything is uploaded.
    const keys = new Map<string, MailRecipientKey>();
    const external: string[] = [];
    const linked: string[] = [];
    // Looked up in one request (this device's own chain beside them), each verified and pinned on its own.
    const all = opts.draft ? [] : [...to, ...cc, ...bcc];
    const chains = this.identity.verifiedChains([...all, this.address]);
    const chainOf = (i: number) => {
      const c = chains.then((r) => (r[i]!.status === 'fulfilled' ? r[i]!.value : Promise.reject(r[i]!.reason)));
      c.catch(() => {}); // each is awaited by its consumer
      return c;
    };
    const mine = this.identity.thisDevice(this.address, chainOf(all.length));
    mine.catch(() => {}); // awaited below; a refusal of a recipient comes first
    if (!opts.draft) {
      const looked = await Promise.allSettled(all.map((a, i) => this.recipientKey(a, chainOf(i))));
      for (const [i, a] of all.entries()) {
        try {
          const r = looked[i]!;
          if (r.status === 'rejected') throw r.reason;
          keys.set(a, r.value);
        } catch (err) {
          // A mailing list of the user's own organisation: not end to end (MISSION §4), the server
          // expands it (docs/mail.md "Posting to a list from inside"), so it goes as standard mail.
          if (err instanceof MailError && err.code === 'NO_E2EE_ROUTE' && (await this.ownLists()).has(a)) {
            external.push(a);
            continue;
          }
          if (!(err instanceof MailError && err.code === 'NO_E2EE_ROUTE' && (mail.allowStandard || mail.links))) throw err;
          (mail.links ? linked : external).push(a);
        }
      }
    }
    const serverKey = external.length ? await this.api.serverMailKey() : null;
    const from = mail.from?.trim().toLowerCase() || this.address;
    const internal = (l: string[]) => l.filter((a) => keys.has(a));
    const me = await mine;
    const mailboxChain = this.mailbox ? await this.mailbox.chain() : null;
    const myPuk = currentPuk(mailboxChain ?? me.state);
    const fromAddress = this.mailbox?.address ?? this.address;
    const domain = fromAddress.split('@')[1]!;
    // A draft's saves share one message id (DraftSession): its pieces uploaded before stay usable.
    const session = opts.replacesDraft ? opts.session : undefined;
    const messageId = session?.messageId ?? `${crypto.randomUUID()}@${domain}`;
    const uploaded: { blobId: string; piece: ManifestPiece }[] = [];
    const kept = (f: AttachmentSource, i: number) => {
      const had = session?.pieces[i];
      return had && f.id !== undefined && had.fileId === f.id ? had : null;
    };
    // Ciphertext bytes to send (the link copy's pieces too), reported part by part as the server takes them.
    const linkedCopy = linked.length > 0 && !!mail.links;
    const toSend = files.reduce((n, f, i) => n + (kept(f, i) ? 0 : pieceCiphertextLength(f.size)) + (linkedCopy ? pieceCiphertextLength(f.size) : 0), 0);
    let sentBytes = 0;
    const onSent = opts.onProgress && toSend ? (n: number) => opts.onProgress!((sentBytes += n), toSend) : undefined;
    onSent?.(0);
    for (const [i, f] of files.entries()) {
      const had = kept(f, i);
      uploaded.push(had ? { blobId: had.blobId, piece: had.piece } : await this.upload(messageId, i + 1, f, onSent));
    }
    const refs = mail.inReplyTo ? [...mail.inReplyTo.mime.references, ...(mail.inReplyTo.mime.messageId ? [mail.inReplyTo.mime.messageId] : [])] : [];
    const mime = buildMime({
      from: { name: this.mailbox ? '' : this.displayName, address: this.mailbox ? fromAddress : from },
      // RFC 5322 §3.6.2: the mailbox is the author, the delegate the agent who sent it.
      ...(this.mailbox ? { extraHeaders: [['Sender', this.address]] as const } : {}),
      to: opts.draft ? norm(mail.to) : to,
      cc: opts.draft ? norm(mail.cc) : cc,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      date: opts.sendAt ?? new Date(),
      messageId,
      inReplyTo: mail.inReplyTo?.mime.messageId ?? undefined,
      references: refs,
      attachments: files.map((f) => ({ filename: f.name, contentType: f.type || 'application/octet-stream', size: f.size, contentId: f.contentId })),
    });
    const sealed = await sealMail({
      messageId,
      sender: this.sealSender(me, mailboxChain),
      pieces: [{ kind: 'body', plaintext: mime }, ...uploaded.map((u) => ({ kind: 'attachment' as const, encrypted: u.piece }))],
      to: opts.draft ? [] : internal([...to, ...cc]).map((a) => keys.get(a)!),
      bcc: opts.draft ? [] : internal(bcc).map((a) => keys.get(a)!),
      senderCopy: { userId: this.mailbox?.userId ?? me.userId, generation: myPuk.generation, publicKeys: myPuk.keys },
      notE2EE: external.length > 0,
      // What a list shows without opening the body (docs/crypto.md §5.15).
      summary: { subject: mail.subject, fromName: this.mailbox ? '' : this.displayName, fromAddress: this.mailbox ? fromAddress : from, snippet: mail.text.slice(0, 2000).replace(/\s+/g, ' ').trim(), attachments: files.length, sealedHeaders: [] },
    });
    const serverBox = serverKey ? createServerBox({ envelope: sealed.envelope, messageKey: sealed.messageKey, serverPublicKey: fromBase64Url(serverKey.publicKey) }) : null;
    sealed.messageKey.fill(0);
    // The public copy for links: the same plaintext sealed again under fresh keys and its own
    // message id, for nobody but one password box per outside recipient.
    let links: NonNullable<Parameters<ApiClient['sendMail']>[0]['links']> | undefined;
    if (linked.length && mail.links) {
      const copyId = `${crypto.randomUUID()}@${domain}`;
      const copyFiles: { blobId: string; piece: ManifestPiece }[] = [];
      for (const [i, f] of files.entries()) copyFiles.push(await this.upload(copyId, i + 1, f, onSent));
      // The copy's body carries a reply grant (docs/crypto.md §7.6): whom a reply through the
      // link is sealed to, and the secret its tag is made with. Sealed, so the server can swap neither.
      const replyPuk = (await this.puks(myPuk.generation)).find((p) => p.generation === myPuk.generation);
      const copyMime = replyPuk ? withHeader(mime, 'X-Sealmail-Link-Reply', toBase64Url(encodeLinkReplyGrant({ userId: me.userId, generation: myPuk.generation, publicKeys: myPuk.keys, secret: linkReplySecret(replyPuk, copyId) }))) : mime;
      const copy = await sealMail({
        messageId: copyId,
        sender: this.sealSender(me, mailboxChain),
        pieces: [{ kind: 'body', plaintext: copyMime }, ...copyFiles.map((u) => ({ kind: 'attachment' as const, encrypted: u.piece }))],
        to: [],
      });
      const recipients = linked.map((address) => {
        const pb = createPasswordBox({ envelope: copy.envelope, messageKey: copy.messageKey });
        return { address, passwordBox: toBase64Url(pb.box), password: pb.password };
      });
      copy.messageKey.fill(0);
      links = { expiresIn: mail.links.expiresIn, envelope: toBase64Url(copy.envelope), manifest: toBase64Url(copy.manifest), body: toBase64Url(copy.pieces[0]!), attachments: copyFiles.map((u) => u.blobId), recipients };
    }
    mime.fill(0);
    const addressOf = new Map([...keys].map(([a, k]) => [k.userId, a]));
    addressOf.set(this.mailbox?.userId ?? me.userId, fromAddress);
    const sent = await this.api.sendMail({
      draft: !!opts.draft,
      ...(opts.replacesDraft ? { replacesDraft: opts.replacesDraft } : {}),
      envelope: toBase64Url(sealed.envelope),
      manifest: toBase64Url(sealed.manifest),
      body: toBase64Url(sealed.pieces[0]!),
      ...(sealed.summary ? { summary: toBase64Url(sealed.summary) } : {}),
      attachments: uploaded.map((u) => u.blobId),
      to: opts.draft ? [] : to,
      cc: opts.draft ? [] : cc,
      bcc: opts.draft ? [] : bcc,
      boxes: sealed.boxes.map((b) => ({ address: addressOf.get(b.userId)!, record: toBase64Url(b.record) })),
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo.entryId } : {}),
      ...(serverBox ? { external, serverBox: toBase64Url(serverBox) } : {}),
      ...(links ? { links } : {}),
      // Scheduled (or undo send): sealed now exactly as above; the server holds it in the Outbox until then.
      ...(opts.sendAt ? { sendAt: opts.sendAt.toISOString() } : {}),
      ...(from !== this.address ? { from } : {}),
    });
    // What the next save of this draft may keep: this id, and each piece with the file it holds.
    if (opts.session) {
      for (const [i, p] of opts.session.pieces.entries()) if (p && p.blobId !== uploaded[i]?.blobId) p.piece.key.fill(0);
      opts.session.messageId = messageId;
      opts.session.pieces = files.map((f, i) => (f.id !== undefined ? { fileId: f.id, ...uploaded[i]! } : null));
    }
    return sent;
  }

  /** The list addresses of the user's organisation (asked once per minute). */
  private listsCache: { at: number; lists: Promise<Set<string>> } | null = null;
  async ownLists(): Promise<Set<string>> {
    if (!this.listsCache || Date.now() - this.listsCache.at > 60_000) {
      const lists = this.api.request(myLists, {}).then((r) => new Set(r.lists.map((l) => l.address.toLowerCase())));
      lists.catch(() => (this.listsCache = null));
      this.listsCache = { at: Date.now(), lists };
    }
    return this.listsCache.lists;
  }

  /** This device as the sender of a mail, with its own chain position (signed into the envelope). */
  /** @internal (also used by ../transfer) */
  sealSender(me: Awaited<ReturnType<Identity['thisDevice']>>, mailboxChain: SigchainState | null = null) {
    return {
      kind: 'device' as const,
      userId: me.userId,
      deviceId: me.device.deviceId,
      signingSecretKey: me.keys.signing.secretKey,
      signingPublicKey: me.keys.signing.publicKey,
      chain: { length: me.state.length, head: me.state.headHash },
      // Sending as a delegate: the mailbox's position, where recipients must find the grant (sender kind 4).
      ...(mailboxChain && this.mailbox ? { onBehalfOf: { userId: this.mailbox.userId, length: mailboxChain.length, head: mailboxChain.headHash } } : {}),
    };
  }

  /**
   * A mail a delegate sent as a mailbox (sender kind 4, docs/sigchain.md §3.2): the mailbox's
   * verified chain must hold the position the mail names, with a grant with send-as to the
   * signer in force there (and, if revoked since, revoked after the mail arrived); the grant
   * names the delegate's address and key history, which must extend what the grant saw; then
   * the delegate's device is checked in the delegate's chain like any sender.
   */
  private async checkDelegatedSender(entry: EntryView, sender: Extract<MailSender, { kind: 'device' }>, behalf: NonNullable<Extract<MailSender, { kind: 'device' }>['onBehalfOf']>): Promise<SenderCheck> {
    const signer = await this.identity.pinnedAddressOf(sender.userId);
    const none = (problem: string): SenderCheck => ({ signingKeys: [], address: signer ?? 'unknown sender', problem, state: null });
    const mailboxAddress = (await this.identity.pinnedAddressOf(behalf.userId)) ?? entry.from.toLowerCase();
    let chain: Awaited<ReturnType<Identity['verifiedChain']>>;
    try {
      chain = await this.senderChain(mailboxAddress);
      if (chain.state && behalf.length > chain.state.length) chain = await this.senderChain(mailboxAddress, true);
    } catch (err) {
      return none(err instanceof TrustError ? err.message : `The mailbox ${mailboxAddress} this mail was sent as could not be found in the key directory.`);
    }
    if (chain.userId !== behalf.userId || !chain.state) return none(`The mailbox ${mailboxAddress} this mail was sent as could not be found in the key directory.`);
    const state = chain.state;
    if (behalf.length < 1 || behalf.length > state.length || toHex(state.hashes[behalf.length - 1]!) !== toHex(behalf.head)) {
      return none(`This mail was sent as ${mailboxAddress} under a key history of that mailbox you are not shown: the server may be showing you (or the sender) a false history.`);
    }
    const grant = delegationAt(state, sender.userId, behalf.length, 'send');
    if (!grant) return none(`This mail says it was sent on behalf of ${mailboxAddress}, but ${mailboxAddress}'s key history gives its sender no right to send as them.`);
    const revokedAt = grant.revokedAt === undefined ? undefined : Date.parse(chain.storedAt[grant.revokedAt] ?? '') || grant.revokedTime;
    if (revokedAt !== undefined && Date.parse(entry.receivedAt) > revokedAt) return none(`This mail was sent as ${mailboxAddress} by ${grant.delegate.address} after their right to do so was revoked.`);
    const check = await this.checkSender(entry, sender, grant.delegate.address);
    if (check.problem || !check.state) return check;
    const g = grant.delegate.chain;
    if (check.address !== grant.delegate.address || g.length > check.state.length || toHex(check.state.hashes[g.length - 1]!) !== toHex(g.head)) {
      return none(`The delegate ${grant.delegate.address} who sent this as ${mailboxAddress} has another key history than the one the grant names.`);
    }
    return { ...check, onBehalfOf: mailboxAddress };
  }

  /**
   * Finds a device sender in their verified, pinned key history (docs/crypto.md §7.2): the
   * address is the one pinned to the sender's user id (or, at first contact, the one the server
   * names, checked to belong to that user id); the signing key must be a device of that chain
   * that was approved and not revoked at the chain position the mail names; and that position
   * must be in the chain this device sees (else someone is shown a different history).
   */
  private async checkSender(entry: EntryView, sender: Extract<MailSender, { kind: 'device' }>, addressHint?: string): Promise<SenderCheck> {
    const none = (problem: string, address: string | null = null, state: SigchainState | null = null): SenderCheck => ({ signingKeys: [], address, problem, state });
    const pinned = await this.identity.pinnedAddressOf(sender.userId);
    let address = pinned ?? addressHint ?? entry.from.toLowerCase();
    let chain: Awaited<ReturnType<Identity['verifiedChain']>>;
    try {
      chain = await this.senderChain(address);
      if (sender.chain && chain.state && sender.chain.length > chain.state.length) chain = await this.senderChain(address, true);
    } catch (err) {
      if (err instanceof TrustError) return { ...none(err.message), ...(err.code === 'RESET' ? { reset: err.address } : {}) };
      return none(`The sender ${entry.from} could not be found in the key directory: this mail cannot be attributed to them.`);
    }
    if (chain.userId !== sender.userId || !chain.state) return none(`The sender ${entry.from} could not be found in the key directory: this mail cannot be attributed to them.`);
    // Mail from an alias is attributed to the user's own address (the chain's; the alias is checked in present()).
    address = chain.address;
    const state = chain.state;
    const device = state.devices.get(sender.deviceId);
    if (!device || toHex(device.keys.signingPublicKey) !== toHex(sender.signingPublicKey)) return none(`This mail was signed by a key that is not one of ${address}'s devices: it may not be from them.`, address, state);
    if (!sender.chain) {
      // Sealed before mail named its chain position: only a device approved now and never revoked counts.
      return device.status === 'approved' ? { signingKeys: [device.keys.signingPublicKey], address, problem: null, state } : none(`This mail was signed by a device of ${address} that is not approved now: it may not be from them.`, address, state);
    }
    const { length, head } = sender.chain;
    if (length < 1 || length > state.length) return none(`This mail was signed under a newer key history of ${address} than the one you are shown: the server may be showing you (or them) a false history.`, address, state);
    if (toHex(state.hashes[length - 1]!) !== toHex(head)) return none(`The key history ${address} signed this mail under differs from the one you are shown: someone is being shown a false history.`, address, state);
    if (!deviceActiveAt(device, length)) {
      const why = device.approvedAt === undefined || device.approvedAt >= length ? 'was not approved yet' : 'had been revoked';
      return none(`This mail was signed by ${device.name}, a device of ${address} that ${why} at that point: it may not be from them.`, address, state);
    }
    // A stolen device, revoked since, could name an old position: mail stored after its revocation
    // is flagged. Both times by the server's clock where it says when it stored the revocation
    // (the revoking device's own clock otherwise).
    const revokedAt = device.revokedAt === undefined ? undefined : Date.parse(chain.storedAt[device.revokedAt] ?? '') || device.revokedTime;
    if (revokedAt !== undefined && Date.parse(entry.receivedAt) > revokedAt) {
      return none(`This mail was signed by ${device.name}, a device of ${address} that was revoked before this mail arrived: it may not be from them.`, address, state);
    }
    return { signingKeys: [device.keys.signingPublicKey], address, problem: null, state };
  }

  /** Opens the holder's box and the manifest; checks the sender's signature against their chain. */
  /** @internal (also used by ../transfer) */
  async openHeader(entry: EntryView) {
    const envelope = fromBase64Url(entry.envelope);
    const record = fromBase64Url(entry.box);
    const env = decodeEnvelope(envelope);
    const check: SenderCheck =
      env.sender.kind !== 'device'
        ? { signingKeys: [], address: null, problem: null, state: null }
        : env.sender.onBehalfOf
          ? await this.checkDelegatedSender(entry, env.sender, env.sender.onBehalfOf)
          : await this.checkSender(entry, env.sender);
    const generation = decodeRecipientBox(record).generation;
    const puk = (await this.puks(generation)).find((p) => p.generation === generation);
    if (!puk) throw new MailError('OPEN_FAILED', 'This device does not hold the key this mail was sealed to (approve it from another device to read older mail).');
    this.myUserId ??= this.mailbox?.userId ?? (await this.identity.thisDevice(this.address)).userId;
    const box = await openRecipientBoxAsync({ envelope, record, userId: this.myUserId, puk, expectedSenderSigningKeys: check.signingKeys });
    const manifest = await openManifest({ envelope: box.envelope, manifest: fromBase64Url(entry.manifest), messageKey: box.messageKey });
    box.messageKey.fill(0);
    return { box, manifest, check, deviceSender: env.sender.kind === 'device' };
  }

  /**
   * What the reader is shown about who sent a mail and how it was protected — only what this
   * device verified: the label, the sender and a warning with the reason when something fails.
   */
  private async present(entry: EntryView, header: Awaited<ReturnType<Mailer['openHeader']>>, mime: Pick<ParsedMime, 'from' | 'sealmailHeaders'>) {
    const { box, manifest, check, deviceSender } = header;
    const claimed = mime.from ?? { name: '', address: entry.from };
    const linkTag = mime.sealmailHeaders?.['x-sealmail-link-reply-tag'];
    if (!deviceSender && linkTag && header.box.envelope.sender.kind === 'external') {
      // A reply through an expiring link: its tag must come from this user's own key (§7.6).
      const from = { name: '', address: header.box.envelope.sender.address.toLowerCase() };
      const [copyId, gen, tag] = linkTag.split(';');
      const puk = (await this.puks(Number(gen))).find((p) => p.generation === Number(gen));
      let valid: boolean;
      try {
        valid = !!puk && !!copyId && !!tag && verifyLinkReplyTag({ puk, copyMessageId: copyId, replyMessageId: header.box.envelope.messageId, tag: fromBase64Url(tag) });
      } catch {
        valid = false;
      }
      if (valid) return { protection: 'Link reply' as ProtectionLabel, warning: null, sender: from, senderSafety: null, sentBy: null };
      return { protection: 'Unverified' as ProtectionLabel, warning: `This mail says it is a reply through one of your secure links, but its proof does not match: anyone, the server included, could have written it.`, sender: from, senderSafety: null, sentBy: null };
    }
    if (!deviceSender) {
      // The ingress seals outside mail with its From address as the envelope's sender, so the two
      // agree. A From that differs was written by whoever sealed the mail, not checked by the
      // ingress: a reply through a link without its tag, say, whose sealed body names a colleague.
      const sealedFor = header.box.envelope.sender.kind === 'external' ? header.box.envelope.sender.address.toLowerCase() : null;
      if (sealedFor && mime.from && mime.from.address.toLowerCase() !== sealedFor) {
        return {
          protection: 'Unverified' as ProtectionLabel,
          warning: `This mail says it is from ${mime.from.address}, but it reached the server from ${sealedFor}. It is shown as from ${sealedFor}.`,
          sender: { name: '', address: sealedFor },
          senderSafety: null,
          sentBy: null,
        };
      }
      return { protection: 'Server Encrypted' as ProtectionLabel, warning: null, sender: claimed, senderSafety: null, sentBy: null };
    }
    if (check.onBehalfOf) return { ...(await this.presentDelegated(box.status, manifest, check, claimed, check.onBehalfOf)) };
    const verifiedAddress = check.address ?? entry.from.toLowerCase();
    const sender = { name: claimed.address.toLowerCase() === verifiedAddress ? claimed.name : '', address: verifiedAddress };
    if (box.status === 'not-signed') {
      // Only the server seals without a signature; mail that claims a user's device but is unsigned is the server's word.
      return { protection: 'Server Encrypted' as ProtectionLabel, warning: `This mail names ${verifiedAddress} as its sender but carries no signature: the server or someone else could have written it.`, sender, senderSafety: null, sentBy: null };
    }
    if (box.status !== 'signed-valid' || check.problem || !check.state) {
      return { protection: 'Unverified' as ProtectionLabel, warning: check.problem ?? `The signature does not match ${verifiedAddress}'s devices: this mail may not be from them.`, sender, senderSafety: null, sentBy: null };
    }
    if (mime.sealmailHeaders?.['x-sealmail-imported'] && verifiedAddress === this.address.toLowerCase()) {
      // Imported from a file by one of this user's own devices: shown as the file names it.
      return { protection: 'Imported' as ProtectionLabel, warning: null, sender: claimed, senderSafety: null, sentBy: null };
    }
    const senderSafety = await this.identity.safetyOf(verifiedAddress, check.state);
    // Send-as: a From that is another address of the same user (an alias, a +tag form) counts when
    // the key directory answers that address with the same user and the same verified chain, and
    // this device pins that binding from then on (Identity.verifiedChain; docs/mail.md "Aliases").
    if (claimed.address.toLowerCase() !== verifiedAddress && (await this.sameUser(claimed.address, check.state))) {
      const warning = senderSafety.changedSinceVerified ? `${verifiedAddress}'s safety number changed since you verified it (a device was added or removed): compare it with them again.` : null;
      return { protection: (manifest.notE2EE ? 'Server Encrypted' : 'E2E Encrypted') as ProtectionLabel, warning, sender: { name: claimed.name, address: claimed.address.toLowerCase() }, senderSafety, sentBy: null, senderVia: verifiedAddress };
    }
    if (claimed.address.toLowerCase() !== verifiedAddress) {
      return {
        protection: 'Unverified' as ProtectionLabel,
        warning: `This mail says it is from ${claimed.address}, but it was signed by a device of ${verifiedAddress}. It is shown as from ${verifiedAddress}.`,
        sender,
        senderSafety,
        sentBy: null,
      };
    }
    const warning = senderSafety.changedSinceVerified ? `${verifiedAddress}'s safety number changed since you verified it (a device was added or removed): compare it with them again.` : null;
    return { protection: (manifest.notE2EE ? 'Server Encrypted' : 'E2E Encrypted') as ProtectionLabel, warning, sender, senderSafety, sentBy: null };
  }

  /**
   * A delegate's mail as a mailbox: "E2E Encrypted", sent by the delegate on behalf of the
   * mailbox, only when the grant and the delegate's device checked out, the signature holds and
   * the sealed From is the mailbox; otherwise "Unverified", shown as from the signer (never
   * plainly from the mailbox).
   */
  private async presentDelegated(status: SignatureStatus, manifest: Manifest, check: SenderCheck, claimed: MailAddress, mailbox: string) {
    const delegate = check.address!;
    const asDelegate = { name: '', address: delegate };
    if (status !== 'signed-valid') {
      return { protection: 'Unverified' as ProtectionLabel, warning: `The signature does not match ${delegate}'s devices: this mail may not be from them.`, sender: asDelegate, senderSafety: null, sentBy: null };
    }
    const senderSafety = await this.identity.safetyOf(delegate, check.state!);
    if (claimed.address.toLowerCase() !== mailbox) {
      return { protection: 'Unverified' as ProtectionLabel, warning: `This mail says it is from ${claimed.address}, but it was sent by ${delegate} as ${mailbox}. It is shown as from ${delegate}.`, sender: asDelegate, senderSafety, sentBy: null };
    }
    const warning = senderSafety.changedSinceVerified ? `${delegate}'s safety number changed since you verified it (a device was added or removed): compare it with them again.` : null;
    return { protection: (manifest.notE2EE ? 'Server Encrypted' : 'E2E Encrypted') as ProtectionLabel, warning, sender: { name: claimed.name, address: mailbox }, senderSafety, sentBy: delegate };
  }

  /** Whether `address` is verifiably another address of the user whose chain is `state` (its alias). */
  private async sameUser(address: string, state: SigchainState): Promise<boolean> {
    try {
      const alias = await this.identity.verifiedChain(address);
      return !!alias.state && alias.userId === state.userId && toHex(alias.state.hashes[0]!) === toHex(state.hashes[0]!);
    } catch {
      return false;
    }
  }

  private async bodyOf(entry: EntryView, manifest: Manifest): Promise<ParsedMime> {
    const full = entry.body ? entry : await this.getEntry(entry.id);
    const body = await openMailPiece({ manifest, index: 0, ciphertext: fromBase64Url(full.body!) });
    try {
      return await parseMime(body);
    } finally {
      body.fill(0);
    }
  }

  /** Opens a mail completely (box, manifest, body); attachments are fetched on demand. */
  async open(entryOrId: EntryView | string): Promise<OpenedMail> {
    const entry = typeof entryOrId === 'string' ? await this.getEntry(entryOrId) : entryOrId;
    try {
      const header = await this.openHeader(entry);
      const { box, manifest } = header;
      const mime = await this.bodyOf(entry, manifest);
      const presented = await this.present(entry, header, mime);
      const { protection, sender, senderSafety, sentBy } = presented;
      const ownDraft = this.isOwnDraft(header);
      const recipientsWarning = ownDraft ? null : await this.visibleRecipientsProblem(header, mime);
      const notADraft = entry.folder === 'drafts' && !ownDraft ? 'This is filed under Drafts, but no device of yours saved it as a draft: it is shown as mail, and cannot be continued as your draft.' : null;
      const warning = [presented.warning, recipientsWarning, notADraft].filter(Boolean).join(' ') || null;
      const senderReset = header.check.reset ?? null;
      const attachments = manifest.pieces.slice(1).map((p, i) => {
        const named = mime.attachments.find((a) => a.piece === i + 1);
        return { piece: i + 1, filename: named?.filename ?? `attachment-${i + 1}`, contentType: named?.contentType ?? 'application/octet-stream', size: p.size, ...(named?.contentId ? { contentId: named.contentId } : {}) };
      });
      return { entryId: entry.id, entry, protection, signature: box.status, warning, sender, senderSafety, senderReset, sentBy, mime, bcc: box.bcc ?? [], attachments, ownDraft, ...('senderVia' in presented && presented.senderVia ? { senderVia: presented.senderVia } : {}) };
    } catch (err) {
      if (err instanceof CryptoError) throw new MailError('OPEN_FAILED', `This mail could not be decrypted (${err.code}); nothing of it is shown.`);
      throw err;
    }
  }

  /** See {@link OpenedMail.ownDraft}: decided from the opened box and the verified signer alone. */
  private isOwnDraft(header: Awaited<ReturnType<Mailer['openHeader']>>): boolean {
    const { box, check, deviceSender } = header;
    return deviceSender && box.role === 'sender-copy' && box.status === 'signed-valid' && !check.problem && !check.onBehalfOf && check.address === this.address.toLowerCase() && box.envelope.recipients.length === 0 && (box.bcc ?? []).length === 0;
  }

  /** Addresses the key directory had no account for this session (outside recipients): not asked again on every open. */
  private readonly noAccount = new Set<string>();

  /**
   * A device-signed mail's To and Cc against the visible recipients its signed envelope names
   * (user ids, bound into every holder's digest: docs/crypto.md §5.9). The sealed headers are the
   * sender's own words: a colleague's client could seal to someone the To line leaves out, or name
   * people it never sent to (whom Reply all would then write to). Listed addresses are matched to
   * accounts by this device's pins, else by one directory request (which pins them, as a first
   * contact does); addresses with no account here are outside recipients and count for nothing.
   * The caller skips this user's own drafts (sealed to their author alone, `isOwnDraft` — never
   * the folder, which is the server's word). Null when the two agree.
   */
  private async visibleRecipientsProblem(header: Awaited<ReturnType<Mailer['openHeader']>>, mime: Pick<ParsedMime, 'to' | 'cc'>): Promise<string | null> {
    if (!header.deviceSender) return null;
    const sealedTo = new Set(header.box.envelope.recipients.map((r) => r.userId));
    const listed = [...new Set([...mime.to, ...mime.cc].map((a) => a.trim().toLowerCase()))].filter((a) => a.length > 0);
    const userOf = new Map<string, string>();
    const unpinned: string[] = [];
    for (const a of listed) {
      const u = await this.identity.pinnedUserOf(a);
      if (u) userOf.set(a, u);
      else if (!this.noAccount.has(a)) unpinned.push(a);
    }
    if (unpinned.length) {
      const found = await this.identity.verifiedChains(unpinned);
      found.forEach((r, i) => {
        if (r.status === 'fulfilled') userOf.set(unpinned[i]!, r.value.userId);
        else if (r.reason instanceof ApiClientError && r.reason.code === 'NOT_FOUND') this.noAccount.add(unpinned[i]!);
      });
    }
    const named = new Set(userOf.values());
    const hidden = [...sealedTo].filter((u) => !named.has(u));
    const phantom = listed.filter((a) => userOf.has(a) && !sealedTo.has(userOf.get(a)!));
    const problems: string[] = [];
    if (hidden.length) {
      const known = (await Promise.all(hidden.map((u) => this.identity.pinnedAddressOf(u)))).filter((a): a is string => !!a);
      const others = hidden.length - known.length;
      const who = [...known, ...(others ? [`${others} ${others === 1 ? 'person' : 'people'} you have not written to`] : [])].join(', ');
      problems.push(`This mail was also sent to ${who} as a visible recipient, though its To and Cc lines do not say so.`);
    }
    if (phantom.length) problems.push(`Its To and Cc lines name ${phantom.join(', ')}, but it was not sent to ${phantom.length === 1 ? 'them' : 'these people'}: they may never have received it (Reply all would write to them).`);
    return problems.length ? problems.join(' ') : null;
  }

  /** A page of a folder with subjects and snippets decrypted (bodies too large for the page are fetched). */
  async list(
    opts: { folder?: FolderName; label?: string; folderId?: string; cursor?: string | null; limit?: number; starred?: boolean; unread?: boolean } = {},
    /** Only entries this accepts are opened and returned (e.g. those not indexed yet). */
    only: (entry: EntryView) => boolean = () => true,
  ): Promise<{ items: (MailSummary | { entryId: string; entry: EntryView; error: string })[]; cursor: string | null; skipped: number }> {
    // A label, a custom folder or Starred spans folders (Trash and Spam aside) unless one is named.
    const page = await this.listEntries(opts.label || opts.folderId || (opts.starred && !opts.folder) ? { ...opts } : { folder: opts.folder ?? 'inbox', ...opts });
    const items = [];
    let skipped = 0;
    for (const entry of page.entries) {
      if (!only(entry)) {
        skipped++;
        continue;
      }
      try {
        const header = await this.openHeader(entry);
        const mime = await this.bodyOf(entry, header.manifest);
        const { protection, warning, sender, sentBy } = await this.present(entry, header, mime);
        items.push({
          entryId: entry.id,
          entry,
          protection,
          warning,
          sentBy,
          subject: mime.subject,
          from: sender,
          snippet: mime.text.replace(/\s+/g, ' ').trim().slice(0, 140),
          attachmentCount: header.manifest.pieces.length - 1,
          mime,
        });
      } catch (err) {
        items.push({ entryId: entry.id, entry, error: err instanceof CryptoError || err instanceof MailError ? 'This mail could not be decrypted.' : (err as Error).message });
      }
    }
    return { items, cursor: page.cursor, skipped };
  }

  /**
   * A page of a folder as a list shows it, opening as little as it can. The page comes as rows
   * without ciphertexts (`GET /mail/rows`), each naming the digest of its sealed parts; rows this
   * device verified before under that digest come from {@link summaryCache} (no decryption, no
   * further request). The others' sealed parts are fetched in one batch (`POST /mail/sealed`) and
   * verified: from the sealed summary (box, manifest and summary: no body fetched or decrypted,
   * docs/crypto.md §5.15); mail without a summary, drafts without recipients on the server, and
   * mail whose summary does not verify are opened as {@link list} does. A verified row is cached
   * under the digest computed here from the bytes verified, never under the one the server named.
   */
  async page(opts: Parameters<Mailer['list']>[0] = {}): Promise<{ items: (ListedMail | { entryId: string; entry: EntryRow; error: string })[]; cursor: string | null }> {
    const query = opts.label || opts.folderId || (opts.starred && !opts.folder) ? { ...opts } : { folder: opts.folder ?? 'inbox', ...opts };
    // A delegated mailbox lists whole entries: their digests are computed here.
    const sealed = new Map<string, EntryView>();
    let page: { rows: EntryRow[]; cursor: string | null };
    if (this.mailbox) {
      const full = await this.listEntries(query);
      for (const e of full.entries) sealed.set(e.id, e);
      page = { rows: await Promise.all(full.entries.map(async (e) => ({ ...e, digest: await sealedDigest(e) }))), cursor: full.cursor };
    } else page = await this.api.listMailRows(query);
    const cache = this.summaryCache;
    const keys = cache ? await Promise.all(page.rows.map((r) => rowKey(r))) : [];
    const hits = cache ? await cache.get(keys).catch(() => keys.map(() => null)) : [];
    const now = Date.now();
    const fresh = (i: number) => {
      const hit = hits[i];
      return hit && now - hit.at >= 0 && now - hit.at < ROW_CACHE_MS ? hit : null;
    };
    // One request for every row the cache does not hold (none for a warm page).
    const missing = page.rows.filter((r, i) => !fresh(i) && !sealed.has(r.id)).map((r) => r.id);
    if (missing.length) {
      const wanted = new Set(missing);
      for (const e of (await this.api.sealedMail(missing)).entries) if (wanted.has(e.id)) sealed.set(e.id, e);
    }
    const put: [string, CachedRow][] = [];
    const items: (ListedMail | { entryId: string; entry: EntryRow; error: string })[] = [];
    for (const [i, row] of page.rows.entries()) {
      const hit = fresh(i);
      if (hit) {
        const { at: _, ...cached } = hit;
        items.push({ ...cached, entryId: row.id, entry: row, source: 'cache' });
        continue;
      }
      const entry = sealed.get(row.id);
      if (!entry) {
        items.push({ entryId: row.id, entry: row, error: 'This mail could not be fetched.' });
        continue;
      }
      try {
        const verified = await this.verifyRow(entry);
        items.push({ ...verified, entryId: row.id, entry: row });
        if (cache) {
          const { source: _s, summaryRejected: _r, ...keep } = verified;
          put.push([await rowKey({ id: entry.id, digest: await sealedDigest(entry) }), { at: now, ...keep }]);
        }
      } catch (err) {
        items.push({ entryId: row.id, entry: row, error: err instanceof CryptoError || err instanceof MailError ? 'This mail could not be decrypted.' : (err as Error).message });
      }
    }
    if (cache && put.length) await cache.put(put).catch(() => undefined);
    return { items, cursor: page.cursor };
  }

  /** One list row, verified: from the sealed summary when it has one that verifies, else from the body. */
  private async verifyRow(entry: EntryView): Promise<Omit<ListedMail, 'entryId' | 'entry'>> {
    const header = await this.openHeader(entry);
    const attachmentCount = header.manifest.pieces.length - 1;
    const draftWithoutRecipients = entry.folder === 'drafts' && !entry.to.length && !entry.cc.length;
    let rejected = false;
    if (entry.summary && !draftWithoutRecipients) {
      try {
        const s = await openMailSummary({ manifest: header.manifest, ciphertext: fromBase64Url(entry.summary) });
        const claimed = s.fromAddress ? { name: s.fromName, address: s.fromAddress } : null;
        const { protection, warning, sender, sentBy } = await this.present(entry, header, { from: claimed, sealmailHeaders: Object.fromEntries(s.sealedHeaders) });
        return { protection, warning, sentBy, subject: s.subject, from: sender, snippet: s.snippet.slice(0, 140), attachmentCount, source: 'summary' };
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
        rejected = true; // altered, swapped or made up: the body decides what the row shows
      }
    }
    const mime = await this.bodyOf(entry, header.manifest);
    const { protection, warning, sender, sentBy } = await this.present(entry, header, mime);
    return {
      protection,
      warning,
      sentBy,
      subject: mime.subject,
      from: sender,
      snippet: mime.text.replace(/\s+/g, ' ').trim().slice(0, 140),
      attachmentCount,
      ...(draftWithoutRecipients ? { to: mime.to } : {}),
      source: 'body',
      ...(rejected ? { summaryRejected: true as const } : {}),
    };
  }

  /**
   * An attachment's plaintext as a stream. Every chunk is authenticated; the stream errors
   * (instead of closing) if the whole piece does not match the manifest — consumers must wait
   * for the end before treating the bytes as the file ({@link attachmentBytes} does).
   */
  async attachment(opened: OpenedMail, piece: number): Promise<ReadableStream<Uint8Array>> {
    return (await this.openAttachment(opened, piece, false)).stream;
  }

  /** {@link attachment}; with `whole`, the plaintext is opened straight into one buffer of the piece's size (the stream's chunks are views of it). */
  private async openAttachment(opened: OpenedMail, piece: number, whole: boolean): Promise<{ stream: ReadableStream<Uint8Array>; output?: Uint8Array }> {
    if (!opened.attachments.some((a) => a.piece === piece)) throw new MailError('NO_SUCH_ATTACHMENT', `No attachment ${piece}.`);
    const { manifest } = await this.openHeader(opened.entry);
    const size = manifest.pieces[piece]?.size;
    // The size is the sender's word: one buffer of it only up to the largest piece a decryptor keeps
    // whole; a larger claim downloads into chunks and fails at the end like any wrong size.
    const output = whole && size !== undefined && Number.isSafeInteger(size) && size <= WHOLE_PIECE_MAX ? new Uint8Array(size) : undefined;
    const dec = createMailPieceDecryptor({ manifest, index: piece, ...(output ? { output } : {}) });
    const source = await this.api.downloadBlob(opened.entry.attachments[piece - 1]!);
    const fail = (err: unknown) => (err instanceof CryptoError ? new MailError('OPEN_FAILED', `The attachment could not be decrypted (${err.code}).`) : err);
    // Batched to 1 MiB pushes, unless the decryptor copies every byte into one buffer anyway (browsers).
    const batch = new Batcher(dec.keepsWhole ? 1 : undefined);
    const stream = source.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async transform(chunk, out) {
          try {
            const b = batch.add(chunk);
            const pt = b ? await dec.push(b) : null;
            if (pt?.length) out.enqueue(pt);
          } catch (err) {
            throw fail(err);
          }
        },
        async flush(out) {
          try {
            const rest = await dec.push(batch.take());
            if (rest.length) out.enqueue(rest);
            const pt = await dec.final();
            if (pt.length) out.enqueue(pt);
          } catch (err) {
            throw fail(err);
          }
        },
      }),
    );
    return output ? { stream, output } : { stream };
  }

  /** An attachment's plaintext, whole, only once all of it authenticated. */
  async attachmentBytes(opened: OpenedMail, piece: number): Promise<Uint8Array> {
    // Opened into one buffer of the manifest's size: no chunks kept and gathered at the end.
    const { stream, output } = await this.openAttachment(opened, piece, true);
    const chunks: Uint8Array[] = [];
    let length = 0;
    await drain(stream, async (c) => {
      length += c.length;
      if (!output) chunks.push(c);
    });
    if (output) return length === output.length ? output : output.subarray(0, length);
    const out = new Uint8Array(length);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /**
   * Edit draft: `session` continues the opened draft — its message id and, for each file the
   * caller puts back at the place it had (`piece`), that piece, so the next save keeps it instead
   * of sealing and uploading the file again. Keys are copied: the session zeroes its own.
   */
  async continueDraft(opened: OpenedMail, session: DraftSession, files: readonly { piece: number; fileId: string }[]): Promise<void> {
    if (opened.entry.folder !== 'drafts') return;
    if (!opened.ownDraft) throw new MailError('OPEN_FAILED', 'This is filed under Drafts, but no device of yours saved it as a draft: it cannot be continued as your draft.');
    const { manifest } = await this.openHeader(opened.entry);
    session.reset();
    session.messageId = manifest.messageId;
    for (const f of files) {
      const piece = manifest.pieces[f.piece];
      const blobId = opened.entry.attachments[f.piece - 1];
      if (piece?.kind === 'attachment' && blobId) session.pieces[f.piece - 1] = { fileId: f.fileId, blobId, piece: { ...piece, key: piece.key.slice() } };
    }
  }

  /** The other entries of an opened mail's conversation, opened, oldest first. */
  async thread(threadId: string): Promise<(OpenedMail | { entryId: string; error: string })[]> {
    const { entries } = await this.api.thread(threadId);
    const out = [];
    for (const e of entries) {
      try {
        out.push(await this.open(e));
      } catch (err) {
        out.push({ entryId: e.id, error: (err as Error).message });
      }
    }
    return out;
  }

  /** How many entries each folder holds (the on-device search index compares its own counts). */
  async folderTotals(): Promise<Partial<Record<FolderName, number>>> {
    const { folders } = await this.api.mailSummary();
    return Object.fromEntries(folders.map((f) => [f.folder, f.total]));
  }

  /** The folder an entry is in now, or null when it was deleted for good. */
  async folderOf(entryId: string): Promise<FolderName | null> {
    try {
      return (await this.api.getMail(entryId)).folder;
    } catch (err) {
      if (err instanceof ApiClientError && err.status === 404) return null;
      throw err;
    }
  }

  /** The user's custom labels, names decrypted here (the server holds only sealed names). */
  async labels(): Promise<{ id: string; name: string }[]> {
    const { labels } = await this.api.labels();
    const me = await this.identity.thisDevice(this.address);
    const out = [];
    for (const l of labels) {
      const record = fromBase64Url(l.name);
      let puks = await this.puks();
      try {
        out.push({ id: l.id, name: new TextDecoder().decode(openSelfBox({ kind: 'label-name', userId: me.userId, itemId: l.id, record, puks })) });
      } catch {
        // Sealed to a generation this device got since the cache was filled, or unreadable here.
        puks = await this.identity.perUserKeys(this.address);
        this.pukCache = puks;
        try {
          out.push({ id: l.id, name: new TextDecoder().decode(openSelfBox({ kind: 'label-name', userId: me.userId, itemId: l.id, record, puks })) });
        } catch {
          out.push({ id: l.id, name: '(label this device cannot read)' });
        }
      }
    }
    return out;
  }

  /** Creates a label; its name is sealed to the user's own newest per-user key. */
  async createLabel(name: string): Promise<{ id: string; name: string }> {
    const clean = name.trim();
    if (!clean || clean.length > 100) throw new MailError('INVALID_LABEL', 'A label name is 1 to 100 characters.');
    const me = await this.identity.thisDevice(this.address);
    const newest = currentPuk(me.state).generation;
    const puk = (await this.puks(newest)).find((p) => p.generation === newest);
    if (!puk) throw new MailError('OPEN_FAILED', 'This device does not hold your newest key yet: approve it from another device first.');
    const id = crypto.randomUUID();
    const record = sealSelfBox({ kind: 'label-name', userId: me.userId, itemId: id, puk, plaintext: new TextEncoder().encode(clean) });
    const l = await this.api.createLabel(id, toBase64Url(record));
    return { id: l.id, name: clean };
  }
}
