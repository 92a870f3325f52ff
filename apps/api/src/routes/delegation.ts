/**
 * Delegation and shared mailboxes (docs/mail.md "Delegation", docs/sigchain.md §3.2). Grants and
 * revocations are links of the mailbox's own key history, signed by one of its devices; the server
 * checks them like any link (apps/api/src/keys/chain.ts), derives the grants in force, stores the
 * mailbox key boxes that come with them, and serves the mailbox to delegates in force only. It
 * never sees a key: it can refuse, not grant.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, delegatedKeys, delegatedMailGet, delegatedMailList, delegationAppend, delegationBoxes, delegationOverview, sharedMailboxCreate, sharedMailboxDevice, sharedMailboxLinks, sharedMailboxList } from '@sealmail/contract';
import { LinkType, toBase64Url, toHex } from '@sealmail/crypto';
import { addressInUse, recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { appendLink, decodePosted, refuse, storedChain } from '../keys/chain';
import { loadEntries } from '../mail/views';
import { assertDelegate, rightsName, storeMailboxBoxes } from '../delegation/grants';
import type { ApiDeps } from '../deps';

export async function delegationRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const device = requireSession(deps, { device: true });
  const session = requireSession(deps);
  const admin = requireSession(deps, { role: 'admin', fresh: true });
  const addressOf = (u: { localPart: string; domain: { name: string } }) => `${u.localPart}@${u.domain.name}`;

  /** The mailbox a caller may extend the key history of: their own, or a shared mailbox of their account they administer. */
  async function ownedMailbox(s: { userId: string; user: { accountId: string; role: string } }, mailboxUserId: string | undefined) {
    if (!mailboxUserId || mailboxUserId === s.userId) return s.userId;
    const shared = await deps.db.sharedMailbox.findUnique({ where: { userId: mailboxUserId }, include: { user: { select: { accountId: true } } } });
    if (!shared || shared.user.accountId !== s.user.accountId || s.user.role !== 'admin') throw new ApiError('NOT_FOUND');
    return mailboxUserId;
  }

  defineRoute(
    app,
    delegationAppend,
    async (req) => {
      const s = req.session!;
      const mailboxUserId = await ownedMailbox(s, req.body.mailboxUserId);
      const { bytes, link } = decodePosted(req.body.link);
      if (link.userId !== mailboxUserId) throw new ApiError('FORBIDDEN', undefined, 'The link names another key history than the one posted to.');
      if (link.body.type !== LinkType.DelegateGrant && link.body.type !== LinkType.DelegateRevoke) refuse('only delegate-grant and delegate-revoke links are posted here');
      const state = await appendLink(deps.db, {
        userId: mailboxUserId,
        bytes,
        link,
        boxes: req.body.pukBoxes,
        now: deps.now(),
        authorise() {
          // The user's own mailbox: signed by this session's device. A shared mailbox: by its own device (the admin holds its key).
          if (mailboxUserId === s.userId && toHex(link.signer) !== s.deviceId) throw new ApiError('DEVICE_REQUIRED', undefined, 'Links must be signed by the device this session belongs to.');
        },
        async afterwards(after, tx) {
          await storeMailboxBoxes(tx, mailboxUserId, after, req.body.mailboxBoxes, link);
        },
      });
      const body = link.body;
      await recordAudit(deps.db, {
        accountId: s.user.accountId,
        actorUserId: s.userId,
        action: body.type === LinkType.DelegateGrant ? 'delegation.grant' : 'delegation.revoke',
        details: { mailboxUserId, seqno: link.seqno, delegateUserId: body.type === LinkType.DelegateGrant ? body.delegate.userId : body.delegateUserId, ...(body.type === LinkType.DelegateGrant ? { rights: rightsName(body.delegate.rights) } : {}) },
      });
      const notify = body.type === LinkType.DelegateGrant ? body.delegate.userId : body.delegateUserId;
      void deps.events.publish(deps.db, notify, { entryId: '', folder: '', kind: 'keys' }).catch(() => undefined);
      return { seqno: link.seqno, headHash: toHex(state.headHash) };
    },
    { preHandler: device },
  );

  defineRoute(
    app,
    delegationBoxes,
    async (req) => {
      const s = req.session!;
      const mailboxUserId = await ownedMailbox(s, req.body.mailboxUserId);
      const stored = await deps.db.$transaction(async (tx) => {
        const { state } = await storedChain(tx, mailboxUserId);
        if (!state) throw new ApiError('DELEGATION_INVALID', undefined, 'The mailbox has no key history yet.');
        return storeMailboxBoxes(tx, mailboxUserId, state, req.body.mailboxBoxes);
      });
      return { stored };
    },
    { preHandler: device },
  );

  defineRoute(
    app,
    delegationOverview,
    async (req) => {
      const s = req.session!;
      const given = await deps.db.delegateGrant.findMany({ where: { managerUserId: s.userId, revokedSeqno: null }, include: { delegate: { include: { domain: { select: { name: true } } } } }, orderBy: { grantedSeqno: 'asc' } });
      const boxes = await deps.db.mailboxKeyBox.findMany({ where: { mailboxUserId: s.userId }, select: { delegateUserId: true, generation: true } });
      const held = await deps.db.delegateGrant.findMany({ where: { delegateUserId: s.userId, revokedSeqno: null }, include: { manager: { include: { domain: { select: { name: true } }, sharedMailbox: { select: { userId: true } } } } }, orderBy: { createdAt: 'asc' } });
      return {
        grants: given.map((g) => ({
          delegateUserId: g.delegateUserId,
          address: addressOf(g.delegate),
          rights: rightsName(g.rights),
          grantedSeqno: g.grantedSeqno,
          generations: boxes.filter((b) => b.delegateUserId === g.delegateUserId).map((b) => b.generation).sort((a, b) => a - b),
        })),
        mailboxes: held.map((g) => ({ userId: g.managerUserId, address: addressOf(g.manager), displayName: g.manager.displayName, rights: rightsName(g.rights), shared: !!g.manager.sharedMailbox })),
      };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    delegatedKeys,
    async (req) => {
      const s = req.session!;
      await assertDelegate(deps.db, req.params.mailboxUserId, s.userId, 'read');
      const mailbox = await deps.db.user.findUniqueOrThrow({ where: { id: req.params.mailboxUserId }, include: { domain: { select: { name: true } } } });
      const boxes = await deps.db.mailboxKeyBox.findMany({ where: { mailboxUserId: mailbox.id, delegateUserId: s.userId }, orderBy: { generation: 'asc' } });
      return { address: addressOf(mailbox), boxes: boxes.map((b) => ({ generation: b.generation, delegateGeneration: b.delegateGeneration, box: toBase64Url(b.box) })) };
    },
    { preHandler: device },
  );

  defineRoute(
    app,
    delegatedMailList,
    async (req) => {
      const s = req.session!;
      const mailboxUserId = req.params.mailboxUserId;
      await assertDelegate(deps.db, mailboxUserId, s.userId, 'read');
      const q = req.query;
      let after: { receivedAt: Date; id: string } | null = null;
      if (q.cursor) {
        let c: unknown;
        try {
          c = JSON.parse(Buffer.from(q.cursor, 'base64url').toString());
        } catch {
          c = null;
        }
        if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'string' || Number.isNaN(Date.parse(c[0])) || !/^[0-9a-f-]{36}$/.test(c[1])) throw new ApiError('VALIDATION_FAILED', 'querystring.cursor', 'querystring.cursor: not a cursor this API gave out.');
        after = { receivedAt: new Date(c[0]), id: c[1] };
      }
      const rows = await deps.db.mailboxEntry.findMany({
        where: {
          userId: mailboxUserId,
          ...(q.folder ? { folder: q.folder } : { folder: { notIn: ['trash', 'spam'] } }),
          ...(after ? { OR: [{ receivedAt: { lt: after.receivedAt } }, { receivedAt: after.receivedAt, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
        take: q.limit + 1,
        select: { id: true, receivedAt: true },
      });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      const cursor = rows.length > q.limit && last ? Buffer.from(JSON.stringify([last.receivedAt.toISOString(), last.id])).toString('base64url') : null;
      return { entries: await loadEntries(deps.db, mailboxUserId, page.map((r) => r.id), 'small'), cursor };
    },
    { preHandler: device, logLevel: 'warn' },
  );

  defineRoute(
    app,
    delegatedMailGet,
    async (req) => {
      await assertDelegate(deps.db, req.params.mailboxUserId, req.session!.userId, 'read');
      const [entry] = await loadEntries(deps.db, req.params.mailboxUserId, [req.params.entryId], 'all');
      if (!entry) throw new ApiError('NOT_FOUND');
      return entry;
    },
    { preHandler: device },
  );

  // Shared mailboxes: an address of the account that nobody signs in to. The admin creates it,
  // their device posts its key history's root with a device key of the mailbox's own (sealed to
  // the admin), and members are added and removed as delegates.
  defineRoute(
    app,
    sharedMailboxList,
    async (req) => {
      const s = req.session!;
      const rows = await deps.db.sharedMailbox.findMany({ where: { user: { accountId: s.user.accountId } }, include: { user: { include: { domain: { select: { name: true } } } } }, orderBy: { createdAt: 'asc' } });
      const grants = await deps.db.delegateGrant.findMany({ where: { managerUserId: { in: rows.map((r) => r.userId) }, revokedSeqno: null }, include: { delegate: { include: { domain: { select: { name: true } } } } } });
      const creators = await deps.db.user.findMany({ where: { id: { in: rows.map((r) => r.createdBy) } }, include: { domain: { select: { name: true } } } });
      return {
        mailboxes: rows.map((r) => ({
          userId: r.userId,
          address: addressOf(r.user),
          displayName: r.user.displayName,
          createdBy: (() => {
            const c = creators.find((u) => u.id === r.createdBy);
            return c ? addressOf(c) : '';
          })(),
          members: grants.filter((g) => g.managerUserId === r.userId).map((g) => ({ address: addressOf(g.delegate), rights: rightsName(g.rights) })),
        })),
      };
    },
    { preHandler: requireSession(deps, { role: 'admin' }) },
  );

  defineRoute(
    app,
    sharedMailboxCreate,
    async (req) => {
      const s = req.session!;
      const [localPart, domainName] = req.body.address.split('@');
      if (!localPart || !domainName || !/^[a-z0-9._+-]{1,64}$/.test(localPart)) throw new ApiError('VALIDATION_FAILED', 'body.address', 'body.address: expected an address such as support@your-domain.');
      const domain = await deps.db.domain.findUnique({ where: { name: domainName } });
      if (!domain || domain.accountId !== s.user.accountId) throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: ${domainName} is not a domain of your organisation.`);
      if (!domain.verifiedAt) throw new ApiError('DOMAIN_UNVERIFIED', 'body.address', `${domainName} is not verified yet: prove it is yours (Domains) before adding addresses to it.`);
      // Taken by a user (or shared mailbox), a list, an alias or a room.
      if (await addressInUse(deps.db, domain.id, localPart)) throw new ApiError('ADDRESS_TAKEN', 'body.address', `${req.body.address} is taken.`);
      const user = await deps.db.user.create({
        // Nobody signs in to a shared mailbox: its password hash is no Argon2id string, so no password matches.
        data: { accountId: s.user.accountId, domainId: domain.id, localPart, displayName: req.body.displayName, passwordHash: '!shared-mailbox', sharedMailbox: { create: { createdBy: s.userId } } },
      });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'delegation.shared_mailbox_create', details: { mailboxUserId: user.id, address: req.body.address } });
      return { userId: user.id, address: req.body.address };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    sharedMailboxLinks,
    async (req) => {
      const s = req.session!;
      const shared = await deps.db.sharedMailbox.findUnique({ where: { userId: req.params.mailboxUserId }, include: { user: { select: { accountId: true } } } });
      if (!shared || shared.user.accountId !== s.user.accountId) throw new ApiError('NOT_FOUND');
      const { bytes, link } = decodePosted(req.body.link);
      if (link.userId !== shared.userId) throw new ApiError('FORBIDDEN', undefined, 'The link names another key history than the one posted to.');
      if (link.body.type === LinkType.DelegateGrant || link.body.type === LinkType.DelegateRevoke) refuse('delegation links go to /api/v1/delegation/links, with their key boxes');
      // Only the first link (the root) comes this way; members are managed by grants.
      if (link.body.type !== LinkType.Root) refuse('a shared mailbox’s key history starts with a root; members are added by grants');
      await appendLink(deps.db, { userId: shared.userId, bytes, link, boxes: req.body.pukBoxes, now: deps.now(), authorise: () => undefined });
      if (req.body.deviceBox) await deps.db.sharedMailbox.update({ where: { userId: shared.userId }, data: { deviceBox: new Uint8Array(Buffer.from(req.body.deviceBox, 'base64url')) } });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'keys.sigchain_append', details: { mailboxUserId: shared.userId, seqno: link.seqno, type: LinkType[link.body.type] } });
      return { seqno: link.seqno };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    sharedMailboxDevice,
    async (req) => {
      const s = req.session!;
      const shared = await deps.db.sharedMailbox.findUnique({ where: { userId: req.params.mailboxUserId }, include: { user: { include: { domain: { select: { name: true } } } } } });
      if (!shared || shared.user.accountId !== s.user.accountId || !shared.deviceBox || shared.createdBy !== s.userId) throw new ApiError('NOT_FOUND');
      // The mailbox's key generations, boxed to its own device (whose seeds only the admin can open).
      const device = await deps.db.device.findFirst({ where: { userId: shared.userId, status: 'approved' }, orderBy: { addedSeqno: 'asc' } });
      const pukBoxes = device ? await deps.db.pukBox.findMany({ where: { userId: shared.userId, deviceId: device.id }, orderBy: { generation: 'asc' } }) : [];
      return { address: addressOf(shared.user), deviceBox: toBase64Url(shared.deviceBox), pukBoxes: pukBoxes.map((b) => ({ generation: b.generation, box: toBase64Url(b.box) })) };
    },
    { preHandler: requireSession(deps, { role: 'admin' }) },
  );
}
