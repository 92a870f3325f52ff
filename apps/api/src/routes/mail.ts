/**
 * Sending and the mailbox (docs/mail.md). The server checks that a sealed mail fits together —
 * the envelope is the caller's device's, its participants are exactly the To/CC users, there is
 * exactly one box per holder, the manifest is the one the envelope names, attachments are the
 * caller's completed uploads within 25 MiB — then stores it once and files an entry per holder.
 * It cannot check what it cannot read; recipients' clients verify signatures and hashes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  ApiError,
  labelCreate,
  labelDelete,
  labelList,
  mailDelete,
  mailEvents,
  mailGet,
  mailLimits,
  mailDeliveries,
  mailList,
  mailRows,
  mailSealed,
  mailSend,
  serverMailKey,
  mailSummary,
  mailThread,
  mailUpdate,
  linkExpirySeconds,
  composeLimits,
} from '@sealmail/contract';
import { decodeEnvelope, decodeRecipientBox, fromBase64Url, openManifest, openPasswordBox, openServerBox, passwordDigest, piecePlaintextLength, sealLinkSecret, toBase64Url, type BoxRole, type MailEnvelope } from '@sealmail/crypto';
import { defineRoute } from '../http/route';
import { readToken, requireSession } from '../auth/plugin';
import { hashToken } from '../auth/sessions';
import { findMailboxes, reachOnce } from '../keys/mailboxes';
import { BlobTakenError, DuplicateMailError, QuotaExceededError, replyOutOfOffice, runServerFilters, storeMessage, storeMessageIn, type Holder, type StoreInput } from '@sealmail/mailstore';
import { addressesOf, findMailboxByAddress } from '@sealmail/db';
import { loadEntries } from '../mail/views';
import { COUNTS_WITH_SESSION, countsWithSession, readMailboxCounts } from '../mail/counts';
import { sendJsonBody } from '../cache/hooks';
import { loadPage } from '../mail/page';
import { loadRows, loadSealed } from '../mail/rows';
import { delegatedSender } from '../delegation/grants';
import { checkSendAt, type ScheduledLink, type SchedulePlan } from '../mail/scheduled';
import { DraftKeptError, dropDraftForResave, purgeEntries } from '../mail/legal-hold';
import type { ApiDeps } from '../deps';
import { decodeOr, invalidMail as invalid, sameBytes as equal, sha256 } from '../mail/sealed-input';


/** The keyset position a list cursor names (400 VALIDATION_FAILED for one this API did not give out). */
function cursorAfter(cursor: string | undefined): { receivedAt: Date; id: string } | undefined {
  if (!cursor) return undefined;
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    c = null;
  }
  if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'string' || Number.isNaN(Date.parse(c[0])) || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(c[1])) {
    throw new ApiError('VALIDATION_FAILED', 'querystring.cursor', 'querystring.cursor: not a cursor this API gave out.');
  }
  return { receivedAt: new Date(c[0]), id: c[1] };
}

const cursorOf = (next: { receivedAt: Date; id: string } | null) => (next ? Buffer.from(JSON.stringify([next.receivedAt.toISOString(), next.id])).toString('base64url') : null);

export async function mailRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const device = requireSession(deps, { device: true });
  const session = requireSession(deps);
  const sessionWithCounts = requireSession(deps, { with: COUNTS_WITH_SESSION });

  async function ownEntry(userId: string, entryId: string) {
    const e = await deps.db.mailboxEntry.findUnique({ where: { id: entryId } });
    if (!e || e.userId !== userId) throw new ApiError('NOT_FOUND');
    return e;
  }

  /** Deletes entries for good (kept out of the user's sight under legal hold: mail/legal-hold.ts). */
  const purge = (entries: readonly { id: string; userId: string }[]) => purgeEntries(deps.db, deps.blobs, entries, deps.now());

  type LinksBody = NonNullable<(typeof mailSend)['body']['_output']['links']>;
  type Session = NonNullable<Parameters<Parameters<typeof defineRoute>[2]>[0]['session']>;

  /** Checks an expiring-link copy: sealed by this device, for no holder, every password opening it. */
  async function checkLinkCopy(links: LinksBody, s: Session) {
    const envelope = decodeOr(() => fromBase64Url(links.envelope), 'the link copy’s envelope does not decode');
    const manifest = decodeOr(() => fromBase64Url(links.manifest), 'the link copy’s manifest does not decode');
    const body = decodeOr(() => fromBase64Url(links.body), 'the link copy’s body does not decode');
    if (body.length > mailLimits.bodyCiphertextBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.links.body');
    decodeOr(() => piecePlaintextLength(body.length), 'the link copy’s body is not a sealed piece');
    const env = decodeOr(() => decodeEnvelope(envelope), 'the link copy’s envelope does not decode');
    if (env.sender.kind !== 'device' || env.sender.userId !== s.userId || env.sender.deviceId !== s.deviceId) throw invalid('the link copy is not sealed by this device');
    if (env.recipients.length) throw invalid('the link copy must not be sealed to anyone but its passwords');
    if (!equal(sha256(manifest), env.manifestHash)) throw invalid('the link copy’s manifest is not the one its envelope names');
    const digest = passwordDigest(envelope);
    const recipients = [];
    for (const r of links.recipients) {
      const passwordBox = decodeOr(() => fromBase64Url(r.passwordBox), 'a password box does not decode');
      const ok = await (async () => {
        const { messageKey } = openPasswordBox({ envelope, box: passwordBox, password: r.password, digest });
        await openManifest({ envelope: env, manifest, messageKey });
        messageKey.fill(0);
        return true;
      })().catch(() => false);
      if (!ok) throw invalid(`the password for ${r.address} does not open the link copy`);
      recipients.push({ address: r.address, passwordBox, password: r.password });
    }
    const blobs = links.attachments.length ? await deps.db.blob.findMany({ where: { id: { in: links.attachments }, ownerUserId: s.userId, completedAt: { not: null }, messageId: null } }) : [];
    if (new Set(links.attachments).size !== links.attachments.length || blobs.length !== links.attachments.length) throw invalid('a link copy attachment is not a completed upload of yours');
    const byId = new Map(blobs.map((x) => [x.id, x]));
    const attachmentSizes = links.attachments.map((id) => decodeOr(() => piecePlaintextLength(Number(byId.get(id)!.size)), 'a link copy attachment is not a sealed piece'));
    if (attachmentSizes.reduce((a, n) => a + n, 0) > mailLimits.attachmentBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.links.attachments');
    return { links, env, envelope, manifest, body, recipients, attachmentSizes, blobBytes: blobs.reduce((a, x) => a + x.size, 0n) };
  }

  /**
   * The public copy with its links and notices, to store in the mail's own transaction (`after`):
   * the password is kept only boxed to the server key. Its attachments were charged when uploaded,
   * so only the rest of its bytes are charged to the sender now (all of it comes back at expiry).
   */
  function linkCopyInput(c: NonNullable<Awaited<ReturnType<typeof checkLinkCopy>>>, sourceMessageId: string, s: Session, self: string, later: boolean): { input: StoreInput; deferred: ScheduledLink[] | null } {
    const now = deps.now();
    const expiresAt = new Date(now.getTime() + linkExpirySeconds[c.links.expiresIn] * 1000);
    const links = c.recipients.map((r) => {
      const id = randomBytes(16).toString('base64url');
      return { id, recipient: r.address, passwordBox: r.passwordBox, secretBox: sealLinkSecret({ serverPublicKey: deps.serverKey.publicKey, linkId: id, password: r.password }), expiresAt, sourceMessageId, senderUserId: s.userId };
    });
    // Scheduled: the copy is stored now, its links (passwords boxed to the server key) when the mail leaves.
    const deferred = later ? links.map((l) => ({ id: l.id, recipient: l.recipient, passwordBox: toBase64Url(l.passwordBox), secretBox: toBase64Url(l.secretBox) })) : null;
    const input: StoreInput = {
      mailId: c.env.messageId,
      senderUserId: s.userId,
      senderAddress: self,
      to: [],
      cc: [],
      protection: 'e2ee',
      envelope: c.envelope,
      manifest: c.manifest,
      body: c.body,
      attachments: c.links.attachments,
      attachmentSizes: c.attachmentSizes,
      blobBytes: c.blobBytes,
      parentId: null,
      sentAt: now,
      holders: [],
      links: deferred ? [] : links,
      chargeTo: s.userId,
      chargeToAlreadyCharged: c.blobBytes,
    };
    return { input, deferred };
  }

  defineRoute(
    app,
    mailSend,
    async (req) => {
      const s = req.session!;
      const b = req.body;
      const sendAt = b.sendAt ? checkSendAt(b.sendAt, b.draft, deps.now()) : null;
      // Send-as: only the caller's own addresses (their aliases and +tag forms included).
      const primary = `${s.user.localPart}@${s.user.domain.name}`;
      const from = b.from ? b.from.toLowerCase() : null;
      if (from && from !== primary && (await findMailboxByAddress(deps.db, from))?.id !== s.userId) throw new ApiError('FROM_NOT_OWNED', 'body.from');
      const envelopeBytes = decodeOr(() => fromBase64Url(b.envelope), 'the envelope does not decode');
      const manifest = decodeOr(() => fromBase64Url(b.manifest), 'the manifest does not decode');
      const body = decodeOr(() => fromBase64Url(b.body), 'the body does not decode');
      // The sealed summary (docs/crypto.md §5.15): opaque here; readers check it against the signed manifest.
      const summary = b.summary ? decodeOr(() => fromBase64Url(b.summary!), 'the summary does not decode') : undefined;
      if (body.length > mailLimits.bodyCiphertextBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.body');
      decodeOr(() => piecePlaintextLength(body.length), 'the body is not a sealed piece');
      const env: MailEnvelope = decodeOr(() => decodeEnvelope(envelopeBytes), 'the envelope does not decode');
      if (env.sender.kind !== 'device' || env.sender.userId !== s.userId || env.sender.deviceId !== s.deviceId) throw invalid('the envelope is not sealed by this device');
      if (!equal(sha256(manifest), env.manifestHash)) throw invalid('the manifest is not the one the envelope names');
      // Sent as a delegate (sender kind 4): the Sent copy is the mailbox's; recipients' clients check the grant.
      const owner = env.sender.onBehalfOf ? await delegatedSender(deps.db, env.sender.onBehalfOf.userId, s.userId, !!b.draft) : { userId: s.userId, address: `${s.user.localPart}@${s.user.domain.name}` };

      // Recipients: every address once, each a mailbox this user may encrypt to.
      const lists = { to: b.to, cc: b.cc, bcc: b.bcc } as const;
      const seen = new Set<string>();
      const holders: { address: string; userId: string; kind: 'to' | 'cc' | 'bcc' }[] = [];
      if (b.draft && b.to.length + b.cc.length + b.bcc.length > 0) throw invalid('a draft keeps its recipients inside its sealed body');
      if (!b.draft && b.to.length + b.cc.length + b.bcc.length === 0) throw new ApiError('VALIDATION_FAILED', 'body.to', 'body.to: name at least one recipient.');
      if (b.to.length + b.cc.length + b.bcc.length > mailLimits.recipients) throw new ApiError('VALIDATION_FAILED', 'body.to', `body.to: at most ${mailLimits.recipients} recipients.`);
      const external = new Set(b.external);
      const linked = new Set((b.links?.recipients ?? []).map((r) => r.address));
      if (external.size && (await deps.db.domain.findUnique({ where: { id: s.user.domainId }, select: { encryptionPolicy: true } }))?.encryptionPolicy === 'secure_only') throw new ApiError('POLICY_FORBIDS_STANDARD', 'body.external');
      if ((external.size || linked.size) && !deps.outbound) throw new ApiError('OUTBOUND_UNAVAILABLE');
      if (b.draft && linked.size) throw invalid('a draft has no links');
      for (const a of linked) {
        if (external.has(a)) throw new ApiError('VALIDATION_FAILED', 'body.links', 'body.links: an address gets standard mail or a link, not both.');
        if (![...b.to, ...b.cc, ...b.bcc].includes(a)) throw new ApiError('VALIDATION_FAILED', 'body.links', 'body.links: every linked address must be among To, Cc or Bcc.');
      }
      if (linked.size !== (b.links?.recipients.length ?? 0)) throw new ApiError('VALIDATION_FAILED', 'body.links', 'body.links: an address is named twice.');
      for (const a of external) if (!seen.has(a) && ![...b.to, ...b.cc, ...b.bcc].includes(a)) throw new ApiError('VALIDATION_FAILED', 'body.external', 'body.external: every outside address must be among To, Cc or Bcc.');
      // The mailboxes of every end-to-end recipient in one query (and reach once per organisation), not one after another.
      const e2ee = [...b.to, ...b.cc, ...b.bcc].filter((a) => !linked.has(a) && !external.has(a));
      const mailboxes = new Map((await findMailboxes(deps.db, e2ee)).map((u, i) => [e2ee[i]!, u]));
      const reach = reachOnce(deps.db, s.user);
      for (const kind of ['to', 'cc', 'bcc'] as const) {
        for (const [i, address] of lists[kind].entries()) {
          if (seen.has(address)) throw new ApiError('VALIDATION_FAILED', `body.${kind}.${i}`, `body.${kind}.${i}: ${address} is named twice.`);
          seen.add(address);
          if (linked.has(address)) {
            // A link goes to anyone outside the sender's own organisation (other organisations on
            // this server included: the fallback when cross-domain E2EE is off). An address on one
            // of the sender's own domains is a mailbox (send it end to end), a list, or nobody.
            const dom = await deps.db.domain.findUnique({ where: { name: address.split('@')[1]! }, select: { accountId: true } });
            if (dom && dom.accountId === s.user.accountId) throw new ApiError('E2EE_UNAVAILABLE', `body.${kind}.${i}`, `${address} is on your organisation's own domain: a mailbox there gets mail end to end, and lists and unknown addresses get no links.`);
            continue;
          }
          if (external.has(address)) {
            // Outside this server only: a domain of ours is never relayed — except a mailing list
            // of the sender's own organisation, which the relay expands here (mail/list-post.ts).
            const dom = await deps.db.domain.findUnique({ where: { name: address.split('@')[1]! }, select: { id: true, accountId: true } });
            if (dom) {
              const list = dom.accountId === s.user.accountId ? await deps.db.mailingList.findFirst({ where: { domainId: dom.id, localPart: address.split('@')[0]! }, select: { id: true, posting: true } }) : null;
              if (!list) throw new ApiError('E2EE_UNAVAILABLE', `body.${kind}.${i}`);
              // A list only its members may post to (docs/mail.md §7.3): one of the sender's addresses is a member.
              if (list.posting === 'members') {
                const sender = await deps.db.user.findUniqueOrThrow({ where: { id: owner.userId }, select: { id: true, localPart: true, domainId: true } });
                const mine = await addressesOf(deps.db, sender);
                if (!(await deps.db.mailingListMember.count({ where: { listId: list.id, address: { in: mine.map((a) => a.toLowerCase()) } } }))) throw new ApiError('FORBIDDEN', `body.${kind}.${i}`, `Only members of ${address} may post to it: ask an administrator to add you.`);
              }
            }
            continue;
          }
          // A user's own address, one of their aliases, or a +tag form of either (docs/mail.md "Aliases").
          const user = mailboxes.get(address);
          // A suspended user receives nothing (as at the SMTP ingress, 550 5.1.1).
          if (!user || user.status !== 'active') throw new ApiError('RECIPIENT_UNKNOWN', `body.${kind}.${i}`, `There is no mailbox ${address} here that takes mail.`);
          if (!(await reach(user))) throw new ApiError('E2EE_UNAVAILABLE', `body.${kind}.${i}`);
          holders.push({ address, userId: user.id, kind });
        }
      }
      const visible = holders.filter((h) => h.kind !== 'bcc').map((h) => h.userId);
      const sealedFor = env.recipients.map((r) => r.userId);
      if (new Set(sealedFor).size !== sealedFor.length || sealedFor.length !== visible.length || !visible.every((id) => sealedFor.includes(id))) {
        throw invalid('the envelope’s participants are not exactly the To and Cc recipients');
      }

      // Boxes: exactly one per holder, each for the user the address names, in the right role.
      const expected = new Map<string, { userId: string; role: BoxRole; kind: 'to' | 'cc' | 'bcc' | 'sender-copy' }>();
      for (const h of holders) expected.set(`${h.address} ${h.kind === 'bcc' ? 'bcc' : 'to'}`, { userId: h.userId, role: h.kind === 'bcc' ? 'bcc' : 'to', kind: h.kind });
      const self = owner.address;
      expected.set(`${self} sender-copy`, { userId: owner.userId, role: 'sender-copy', kind: 'sender-copy' });
      // The address the mail goes out from: the chosen alias of one's own mailbox, else the mailbox's address.
      const fromAddress = from && owner.userId === s.userId ? from : self;
      const boxes = new Map<string, Uint8Array>();
      for (const box of b.boxes) {
        const record = decodeOr(() => fromBase64Url(box.record), 'a box does not decode');
        const rec = decodeOr(() => decodeRecipientBox(record), 'a box does not decode');
        const key = `${box.address} ${rec.role}`;
        const want = expected.get(key);
        if (!want || want.userId !== rec.userId || boxes.has(key)) throw invalid(`the box for ${box.address} (${rec.role}) is not one this mail needs`);
        boxes.set(key, record);
      }
      if (boxes.size !== expected.size) throw invalid('a holder’s box is missing');

      // Standard mail to the outside: the server must be able to open it, and it must say so.
      let serverBox: Uint8Array | undefined;
      if (external.size) {
        if (!b.serverBox) throw invalid('outside recipients need a server box');
        serverBox = decodeOr(() => fromBase64Url(b.serverBox!), 'the server box does not decode');
        const key = deps.serverKey;
        const opened = await (async () => {
          const { messageKey } = openServerBox({ envelope: envelopeBytes, box: serverBox!, serverPublicKey: key.publicKey, serverSecretKey: key.secretKey });
          const m = await openManifest({ envelope: env, manifest, messageKey });
          messageKey.fill(0);
          return m;
        })().catch(() => null);
        if (!opened) throw invalid('the server box does not open this mail');
        if (!opened.notE2EE) throw invalid('mail relayed by the server must be marked not end-to-end encrypted');
      } else if (b.serverBox) throw invalid('a server box without outside recipients');

      // Expiring links: a public copy sealed by this device for nobody but the password boxes,
      // each of which must open it with its password (the link must work when it arrives).
      const linkCopy = b.links ? await checkLinkCopy(b.links, s) : null;
      // The copy is a mail of its own: none of its uploads is one of the mail's, nor its id the mail's.
      if (linkCopy?.links.attachments.some((id) => b.attachments.includes(id))) throw invalid('an upload is named both as an attachment and as the link copy’s', 'body.links.attachments');
      if (linkCopy && linkCopy.env.messageId === env.messageId) throw invalid('the link copy has the message id of the mail itself', 'body.links.envelope');

      // A draft is always the sender's own (a delegate's drafts stay in their mailbox).
      // Gone (deleted, or saved again from another device) names its field: the client then saves
      // or sends without replacing it instead of failing on every save (packages/client Mailer.send).
      const draft = b.replacesDraft ? await deps.db.mailboxEntry.findUnique({ where: { id: b.replacesDraft } }) : null;
      if (b.replacesDraft && (!draft || draft.userId !== s.userId || draft.folder !== 'drafts')) {
        throw new ApiError('NOT_FOUND', 'body.replacesDraft', 'The draft this replaces is gone (deleted, or saved again on another device).');
      }
      // Saved again under its own message id (docs/mail.md "Drafts"): replaced in the same
      // transaction, and the pieces it uploaded before may be kept, each at its own place.
      const resaved = draft ? (await deps.db.message.findUnique({ where: { id: draft.messageId }, select: { mailId: true } }))?.mailId === env.messageId : false;

      // Attachments: the caller's completed, unused uploads (or the resaved draft's own), within 25 MiB decoded.
      const blobs = b.attachments.length
        ? await deps.db.blob.findMany({ where: { id: { in: b.attachments }, ownerUserId: s.userId, completedAt: { not: null }, OR: [{ messageId: null }, ...(resaved ? [{ messageId: draft!.messageId }] : [])] } })
        : [];
      if (new Set(b.attachments).size !== b.attachments.length || blobs.length !== b.attachments.length) throw invalid('an attachment is not a completed upload of yours', 'body.attachments');
      const blobById = new Map(blobs.map((x) => [x.id, x]));
      const kept = b.attachments.filter((id) => blobById.get(id)!.messageId !== null);
      // A piece is sealed for its place in the mail: a kept one stays where it was.
      if (b.attachments.some((id, i) => blobById.get(id)!.messageId !== null && blobById.get(id)!.pieceIndex !== i + 1)) throw invalid('a kept attachment of the draft moved to another place', 'body.attachments');
      const attachmentSizes = b.attachments.map((id) => decodeOr(() => piecePlaintextLength(Number(blobById.get(id)!.size)), 'an attachment is not a sealed piece'));
      if (attachmentSizes.reduce((a, n) => a + n, 0) > mailLimits.attachmentBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.attachments');
      const blobBytes = blobs.reduce((a, x) => a + x.size, 0n);
      // Charged when uploaded: fresh uploads only (a kept piece was refunded with the saved draft).
      const uploadedBytes = blobs.reduce((a, x) => (x.messageId === null ? a + x.size : a), 0n);
      let dropped: string[] = [];
      const parent = b.inReplyTo ? await ownEntry(owner.userId, b.inReplyTo) : null;

      // Scheduled send: only the sender's Outbox entry now; the rest waits in the plan (mail/scheduled.ts).
      if (sendAt && (await deps.db.scheduledSend.count({ where: { userId: s.userId, status: 'scheduled' } })) >= composeLimits.scheduled) throw new ApiError('SCHEDULE_INVALID', 'body.sendAt', `At most ${composeLimits.scheduled} mails can wait in the Outbox.`);
      // Only recipients with filters or an out-of-office note need their own queries (one query finds them).
      const ids = [...new Set(holders.map((h) => h.userId))];
      const [filtered, away]: [Set<string>, Set<string>] = ids.length && !sendAt && !b.draft
        ? await Promise.all([
            deps.db.mailFilter.findMany({ where: { userId: { in: ids } }, distinct: ['userId'], select: { userId: true } }),
            deps.db.outOfOffice.findMany({ where: { userId: { in: ids } }, select: { userId: true } }),
          ]).then(([f, o]) => [new Set(f.map((x) => x.userId)), new Set(o.map((x) => x.userId))])
        : [new Set<string>(), new Set<string>()];
      const holdersToStore: Holder[] = [
        { userId: owner.userId, address: self, kind: 'sender-copy', box: boxes.get(`${self} sender-copy`)!, folder: b.draft ? 'drafts' : sendAt ? 'outbox' : 'sent', read: true, required: true, alreadyCharged: owner.userId === s.userId ? uploadedBytes : 0n, threadId: parent?.threadId ?? randomUUID() },
        ...(sendAt
          ? []
          : await Promise.all(
          holders.map(async (h): Promise<Holder> => {
            // Each recipient's metadata filters (never forwarding: E2EE mail cannot be read by the server).
            const f = b.draft || !filtered.has(h.userId) ? null : await runServerFilters(deps.db, h.userId, { senders: [fromAddress], recipient: h.address, listIds: [], size: body.length + Number(blobBytes), attachments: b.attachments.length });
            return { userId: h.userId, address: h.address, kind: h.kind, box: boxes.get(`${h.address} ${h.kind === 'bcc' ? 'bcc' : 'to'}`)!, folder: f?.folder ?? 'inbox', ...(f ? { read: f.read, starred: f.starred, labelIds: f.labelIds } : {}) };
          }),
        )),
      ];
      let stored;
      // The public copy of a mail sent as expiring links: stored in the mail's own transaction, so
      // a copy that does not fit leaves nothing delivered either (QUOTA_EXCEEDED means nothing sent).
      let copy = null as { messageId: string; links: ScheduledLink[] | null } | null;
      try {
        stored = await storeMessage(deps.db, {
          mailId: env.messageId,
          senderUserId: owner.userId,
          senderAddress: fromAddress,
          to: b.to,
          cc: b.cc,
          protection: 'e2ee',
          envelope: envelopeBytes,
          manifest,
          body,
          ...(summary ? { summary } : {}),
          attachments: b.attachments,
          attachmentSizes,
          blobBytes,
          parentId: parent?.messageId ?? null,
          sentAt: deps.now(),
          holders: holdersToStore,
          ...(serverBox && !sendAt ? { serverBox, outbound: [...external] } : {}),
          ...(resaved ? { before: async (tx) => void (dropped = await dropDraftForResave(tx, draft!.id, kept)) } : {}),
          ...(linkCopy
            ? {
                after: async (tx, main) => {
                  const { input, deferred } = linkCopyInput(linkCopy, main.messageId, s, self, !!sendAt);
                  copy = { messageId: (await storeMessageIn(tx, input)).messageId, links: deferred };
                },
              }
            : {}),
        });
      } catch (err) {
        if (err instanceof DraftKeptError) throw new ApiError('CONFLICT', 'body.replacesDraft', 'The saved draft is kept as it is (legal hold): save it under a new message id.');
        if (err instanceof QuotaExceededError) throw new ApiError('QUOTA_EXCEEDED');
        if (err instanceof DuplicateMailError) throw new ApiError('CONFLICT', 'body.envelope', 'A mail with this message id exists already.');
        if (err instanceof BlobTakenError) throw invalid('an attachment was used by another mail meanwhile', 'body.attachments');
        throw err;
      }
      const mine = stored.entries[0]!;
      const result = { entryId: mine.entryId, messageId: stored.messageId, threadId: mine.threadId };
      // The resaved draft went with this save; only its pieces not kept are left to delete.
      if (resaved) await deps.blobs.delete(dropped);
      const replaced = resaved ? null : draft;
      if (sendAt) {
        const plan: SchedulePlan = {
          holders: holders.map((h) => ({ address: h.address, userId: h.userId, kind: h.kind, box: toBase64Url(boxes.get(`${h.address} ${h.kind === 'bcc' ? 'bcc' : 'to'}`)!) })),
          external: [...external],
          ...(serverBox ? { serverBox: toBase64Url(serverBox) } : {}),
          ...(copy && linkCopy ? { linkCopy: { messageId: copy.messageId, expiresIn: linkCopy.links.expiresIn, links: copy.links ?? [] } } : {}),
        };
        const row = await deps.db.scheduledSend.create({ data: { userId: s.userId, entryId: mine.entryId, messageId: stored.messageId, deviceId: s.deviceId!, sendAt, plan: plan as object } });
        if (replaced) await purge([replaced]);
        await deps.scheduled?.enqueue(row.id, sendAt);
        void deps.events.publish(deps.db, s.userId, { entryId: mine.entryId, folder: 'outbox', kind: 'new' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
        return { ...result, scheduledId: row.id, delivered: [], refused: [] };
      }
      const delivered = [...stored.entries.slice(1).map((e) => e.address)];
      const refused = stored.refused;
      const created = stored.entries;
      if (replaced) await purge([replaced]);
      if (external.size) await deps.outbound!.enqueue(stored.messageId);
      if (copy) await deps.outbound!.enqueue(copy.messageId);
      for (const c of created) void deps.events.publish(deps.db, c.userId, { entryId: c.entryId, folder: c.folder, kind: 'new' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
      // Out-of-office replies of recipients (RFC 3834: once per sender per period), sealed by the
      // server into the sender's Inbox, from the address the mail came to.
      if (!b.draft) {
        for (const c of created.slice(1).filter((e) => e.userId !== s.userId && away.has(e.userId))) {
          await replyOutOfOffice({ db: deps.db, blobs: deps.blobs, hostname: deps.mailHosts.smtp, now: deps.now, logger: app.log, secrets: deps.secrets, serverPublicKey: deps.serverKey.publicKey }, { userId: c.userId, address: c.address, replyTo: self, senderUserId: s.userId, outside: c.userId !== s.userId && (await deps.db.user.findUnique({ where: { id: c.userId }, select: { accountId: true } }))?.accountId !== s.user.accountId, inReplyTo: env.messageId }).catch((err: unknown) =>
            app.log.warn({ err: (err as Error).message }, 'out-of-office reply failed'),
          );
        }
      }
      return { ...result, delivered, refused };
    },
    { preHandler: device, bodyLimit: 4 * 1024 * 1024 },
  );

  defineRoute(app, serverMailKey, async () => ({ publicKey: toBase64Url(deps.serverKey.publicKey), keyId: deps.serverKey.keyId }), { preHandler: session });

  defineRoute(
    app,
    mailDeliveries,
    async (req) => {
      const e = await ownEntry(req.session!.userId, req.params.entryId);
      if (e.role !== 'sender-copy') throw new ApiError('NOT_FOUND');
      const rows = await deps.db.outboundDelivery.findMany({ where: { messageId: e.messageId }, orderBy: { recipient: 'asc' } });
      return {
        deliveries: rows.map((r) => ({
          recipient: r.recipient,
          status: r.status,
          attempts: r.attempts,
          lastError: r.lastError,
          nextAttemptAt: r.status === 'queued' ? r.nextAttemptAt.toISOString() : null,
          bouncedAt: r.bouncedAt?.toISOString() ?? null,
        })),
      };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    mailList,
    async (req) => {
      const s = req.session!;
      const q = req.query;
      const after = cursorAfter(q.cursor);
      // One statement: keyset walk, messages and attachment ids joined (mail/page.ts).
      const { entries, next } = await loadPage(deps.db, s.userId, { folder: q.folder, folderId: q.folderId, label: q.label, starred: !!q.starred, unread: !!q.unread, after, limit: q.limit });
      return { entries, cursor: cursorOf(next) };
    },
    { preHandler: session, logLevel: 'warn' },
  );

  // The same page as rows without ciphertexts, and the sealed parts of rows in one batch (mail/rows.ts).
  defineRoute(
    app,
    mailRows,
    async (req, reply) => {
      const q = req.query;
      const userId = req.session!.userId;
      // Served from this process's cache when it holds this page (cache/store.ts, kept right by NOTIFY).
      const what = `rows\n${q.folder ?? ''}\n${q.folderId ?? ''}\n${q.label ?? ''}\n${q.starred ?? ''}\n${q.unread ?? ''}\n${q.cursor ?? ''}\n${q.limit}`;
      const hit = deps.cache.body(userId, what);
      if (hit) return sendJsonBody(reply, hit);
      const { rows, next } = await loadRows(deps.db, userId, { folder: q.folder, folderId: q.folderId, label: q.label, starred: !!q.starred, unread: !!q.unread, after: cursorAfter(q.cursor), limit: q.limit });
      if (!deps.cache.active) return { rows, cursor: cursorOf(next) };
      const body = Buffer.from(JSON.stringify({ rows, cursor: cursorOf(next) }));
      deps.cache.putBody(userId, what, req.cacheSince ?? 0, body);
      return sendJsonBody(reply, body);
    },
    { preHandler: session, logLevel: 'warn' },
  );

  defineRoute(app, mailSealed, async (req) => ({ entries: await loadSealed(deps.db, req.session!.userId, req.body.ids) }), { preHandler: session, logLevel: 'warn' });

  defineRoute(
    app,
    mailGet,
    async (req) => {
      const s = req.session!;
      const [entry] = await loadEntries(deps.db, s.userId, [req.params.entryId], 'all');
      if (!entry) throw new ApiError('NOT_FOUND');
      return entry;
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    mailThread,
    async (req) => {
      const s = req.session!;
      const rows = await deps.db.mailboxEntry.findMany({ where: { userId: s.userId, threadId: req.params.threadId }, orderBy: [{ receivedAt: 'asc' }, { id: 'asc' }], take: 500, select: { id: true } });
      if (!rows.length) throw new ApiError('NOT_FOUND');
      return { entries: await loadEntries(deps.db, s.userId, rows.map((r) => r.id), 'small') };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    mailUpdate,
    async (req) => {
      const s = req.session!;
      const e = await ownEntry(s.userId, req.params.entryId);
      const { folder, read, starred, labelIds } = req.body;
      if (folder && (e.folder === 'drafts' || e.folder === 'outbox')) throw new ApiError('CONFLICT', 'body.folder', 'Drafts and queued mail are sent or deleted, not moved.');
      if (labelIds?.length) {
        const own = await deps.db.label.count({ where: { userId: s.userId, id: { in: labelIds } } });
        if (own !== new Set(labelIds).size) throw new ApiError('VALIDATION_FAILED', 'body.labelIds', 'body.labelIds: not your labels.');
      }
      await deps.db.mailboxEntry.update({
        where: { id: e.id },
        data: { ...(folder ? { folder, ...(folder === 'trash' ? (e.folder === 'trash' ? {} : { trashedFrom: e.folder }) : { folderId: null, trashedFrom: null }) } : {}), ...(read !== undefined ? { read } : {}), ...(starred !== undefined ? { starred } : {}), ...(labelIds ? { labelIds: [...new Set(labelIds)] } : {}) },
      });
      void deps.events.publish(deps.db, s.userId, { entryId: e.id, folder: folder ?? e.folder, kind: 'changed' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
      const [view] = await loadEntries(deps.db, s.userId, [e.id], 'small');
      return view!;
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    mailDelete,
    async (req) => {
      const s = req.session!;
      const e = await ownEntry(s.userId, req.params.entryId);
      if (e.folder === 'trash' || e.folder === 'drafts') {
        await purge([e]);
        void deps.events.publish(deps.db, s.userId, { entryId: e.id, folder: e.folder, kind: 'deleted' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
        return { id: e.id, deleted: 'permanently' as const };
      }
      await deps.db.mailboxEntry.update({ where: { id: e.id }, data: { folder: 'trash', trashedFrom: e.folder } });
      void deps.events.publish(deps.db, s.userId, { entryId: e.id, folder: 'trash', kind: 'changed' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
      return { id: e.id, deleted: 'trash' as const };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    mailSummary,
    async (req, reply) => {
      const userId = req.session!.userId;
      const hit = deps.cache.body(userId, 'summary');
      if (hit) return sendJsonBody(reply, hit);
      // Maintained by triggers, not scanned, and read in the session lookup's statement (mail/counts.ts);
      // a session from the cache came without them: one read of the counts and the quota.
      const counts = req.sessionExtra !== undefined ? countsWithSession(req.sessionExtra, req.session!.user) : await readMailboxCounts(deps.db, userId);
      if (!deps.cache.active) return counts;
      const body = Buffer.from(JSON.stringify(counts));
      deps.cache.putBody(userId, 'summary', req.cacheSince ?? 0, body);
      return sendJsonBody(reply, body);
    },
    { preHandler: sessionWithCounts, logLevel: 'warn' },
  );

  defineRoute(
    app,
    labelList,
    async (req) => {
      const labels = await deps.db.label.findMany({ where: { userId: req.session!.userId }, orderBy: { createdAt: 'asc' }, take: 1000 });
      return { labels: labels.map((l) => ({ id: l.id, name: toBase64Url(l.name) })) };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    labelCreate,
    async (req) => {
      const s = req.session!;
      if ((await deps.db.label.count({ where: { userId: s.userId } })) >= 1000) throw new ApiError('CONFLICT', undefined, 'At most 1000 labels.');
      const name = decodeOr(() => fromBase64Url(req.body.name), 'the label name does not decode');
      if (await deps.db.label.findUnique({ where: { id: req.body.id }, select: { id: true } })) throw new ApiError('CONFLICT', 'body.id', 'A label with this id exists; choose another id.');
      const l = await deps.db.label.create({ data: { id: req.body.id, userId: s.userId, name: name as Uint8Array<ArrayBuffer> } });
      return { id: l.id, name: toBase64Url(l.name) };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    labelDelete,
    async (req) => {
      const s = req.session!;
      const id = req.params.labelId;
      await deps.db.$transaction(async (tx) => {
        const gone = await tx.label.deleteMany({ where: { id, userId: s.userId } });
        if (!gone.count) throw new ApiError('NOT_FOUND');
        await tx.$executeRaw`UPDATE mailbox_entries SET label_ids = array_remove(label_ids, ${id}) WHERE user_id = ${s.userId}::uuid AND ${id} = ANY(label_ids)`;
      });
      return { id };
    },
    { preHandler: session },
  );

  // Server-sent events: new and changed entries of the caller's mailbox.
  app.get(mailEvents.path, { preHandler: session }, async (req, reply) => {
    const userId = req.session!.userId;
    const token = readToken(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': sealmail mail events\nretry: 3000\n\n');
    const unsubscribe = deps.events.subscribe(userId, (e) => res.write(`event: mail\ndata: ${JSON.stringify(e)}\n\n`));
    // Heartbeats keep proxies from closing the stream; a session that ended closes it.
    const beat = setInterval(() => {
      res.write(': ping\n\n');
      // Checked without touching it: an open stream is not activity, so idle expiry still applies.
      void deps.db.session
        .findUnique({ where: { tokenHash: hashToken(token ?? '') }, select: { revokedAt: true, expiresAt: true, lastSeenAt: true } })
        .then((live) => {
          const now = deps.now().getTime();
          if (!live || live.revokedAt || live.expiresAt.getTime() <= now || live.lastSeenAt.getTime() + deps.auth.sessionIdleMs <= now) res.end();
        })
        .catch(() => res.end());
    }, 25_000);
    const stop = () => {
      clearInterval(beat);
      unsubscribe();
    };
    res.on('close', stop);
    req.raw.on('close', stop);
  });
}
