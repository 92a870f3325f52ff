/**
 * Admin: mailing lists of the account (docs/mail.md §7.3). The SMTP ingress expands mail to a
 * list address; this is where admins make lists and name their members. Every change is recorded
 * in the change history.
 */
import type { FastifyInstance } from 'fastify';
import { adminListCreate, adminListDelete, adminListList, adminListUpdate, ApiError, MAX_LIST_MEMBERS, type ListPosting } from '@sealmail/contract';
import { addressInUse, recordAudit, splitAddress, type Db } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

type ListRow = { id: string; localPart: string; name: string; posting: string; createdAt: Date; domain: { name: string }; members: { address: string }[] };
const include = { domain: { select: { name: true } }, members: { select: { address: true }, orderBy: { address: 'asc' as const }, take: MAX_LIST_MEMBERS } };

/**
 * The lists as the console shows them: each member marked local when it is a mailbox of the
 * admin's own organisation. Another organisation's users on this server are outside members,
 * like any other server's (the console must not tell whether they exist here).
 */
async function view(db: Db, accountId: string, lists: ListRow[]) {
  const addresses = [...new Set(lists.flatMap((l) => l.members.map((m) => m.address)))];
  const parts = addresses.flatMap((a) => {
    const p = splitAddress(a);
    return p ? [p] : [];
  });
  const users = parts.length ? await db.user.findMany({ where: { accountId, OR: parts.map((p) => ({ localPart: p.localPart, domain: { name: p.domain } })) }, select: { localPart: true, domain: { select: { name: true } } }, take: addresses.length }) : [];
  const local = new Set(users.map((u) => `${u.localPart}@${u.domain.name}`));
  return lists.map((l) => ({ id: l.id, address: `${l.localPart}@${l.domain.name}`, name: l.name, posting: l.posting as ListPosting, members: l.members.map((m) => ({ address: m.address, local: local.has(m.address) })), createdAt: l.createdAt.toISOString() }));
}

export async function listRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const admin = { preHandler: requireSession(deps, { role: 'admin' }) };
  const owned = async (id: string, accountId: string) => {
    const list = await deps.db.mailingList.findFirst({ where: { id, accountId }, include });
    if (!list) throw new ApiError('NOT_FOUND');
    return list;
  };

  defineRoute(app, adminListList, async (req) => ({ lists: await view(deps.db, req.session!.user.accountId, await deps.db.mailingList.findMany({ where: { accountId: req.session!.user.accountId }, include, orderBy: [{ domainId: 'asc' }, { localPart: 'asc' }], take: 1000 })) }), admin);

  defineRoute(
    app,
    adminListCreate,
    async (req) => {
      const s = req.session!;
      const { localPart, domain: domainName } = splitAddress(req.body.address)!;
      const domain = await deps.db.domain.findUnique({ where: { name: domainName } });
      if (!domain || domain.accountId !== s.user.accountId) throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: ${domainName} is not a domain of your organisation.`);
      if (!domain.verifiedAt) throw new ApiError('DOMAIN_UNVERIFIED', 'body.address', `${domainName} is not verified yet: prove it is yours (Domains) before adding lists to it.`);
      if (await addressInUse(deps.db, domain.id, localPart)) throw new ApiError('ADDRESS_TAKEN', 'body.address');
      const members = [...new Set(req.body.members)];
      const list = await deps.db.mailingList
        .create({ data: { accountId: s.user.accountId, domainId: domain.id, localPart, name: req.body.name, posting: req.body.posting, members: { create: members.map((address) => ({ address })) } }, include })
        .catch((err: unknown) => {
          // Two admins creating the same address at once: the unique index decides.
          if ((err as { code?: string }).code === 'P2002') throw new ApiError('ADDRESS_TAKEN', 'body.address');
          throw err;
        });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'list.create', details: { address: req.body.address, members: members.length, posting: req.body.posting } });
      return (await view(deps.db, s.user.accountId, [list]))[0]!;
    },
    admin,
  );

  defineRoute(
    app,
    adminListUpdate,
    async (req) => {
      const s = req.session!;
      const list = await owned(req.params.id, s.user.accountId);
      const members = req.body.members ? [...new Set(req.body.members)] : undefined;
      await deps.db.$transaction([
        ...(req.body.name !== undefined || req.body.posting !== undefined ? [deps.db.mailingList.update({ where: { id: list.id }, data: { ...(req.body.name !== undefined ? { name: req.body.name } : {}), ...(req.body.posting !== undefined ? { posting: req.body.posting } : {}) } })] : []),
        ...(members ? [deps.db.mailingListMember.deleteMany({ where: { listId: list.id } }), deps.db.mailingListMember.createMany({ data: members.map((address) => ({ listId: list.id, address })) })] : []),
      ]);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'list.update', details: { address: `${list.localPart}@${list.domain.name}`, ...(req.body.name !== undefined ? { name: req.body.name } : {}), ...(req.body.posting !== undefined ? { posting: req.body.posting } : {}), ...(members ? { members: members.length } : {}) } });
      return (await view(deps.db, s.user.accountId, [await owned(list.id, s.user.accountId)]))[0]!;
    },
    admin,
  );

  defineRoute(
    app,
    adminListDelete,
    async (req) => {
      const s = req.session!;
      const list = await owned(req.params.id, s.user.accountId);
      await deps.db.mailingList.delete({ where: { id: list.id } });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'list.delete', details: { address: `${list.localPart}@${list.domain.name}` } });
      return { removed: true as const };
    },
    admin,
  );
}
