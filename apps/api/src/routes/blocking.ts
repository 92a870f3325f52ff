/**
 * Blocked senders (docs/mail.md §7.2): each user's own blocklist, and the account-wide one that
 * admins keep (every change recorded in the change history). The SMTP ingress reads both.
 */
import type { FastifyInstance } from 'fastify';
import { adminBlockAdd, adminBlockList, adminBlockRemove, ApiError, blockAdd, blockList, blockRemove, MAX_BLOCKED_SENDERS } from '@sealmail/contract';
import { recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

const view = (b: { id: string; pattern: string; createdAt: Date }) => ({ id: b.id, pattern: b.pattern, kind: b.pattern.includes('@') ? ('address' as const) : ('domain' as const), createdAt: b.createdAt.toISOString() });

export async function blockingRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  /** The list of one scope: a user's own (userId) or the account's (userId null). */
  const list = (accountId: string, userId: string | null) => deps.db.blockedSender.findMany({ where: { accountId, userId }, orderBy: { pattern: 'asc' }, take: MAX_BLOCKED_SENDERS });
  async function add(accountId: string, userId: string | null, pattern: string) {
    const existing = await deps.db.blockedSender.findFirst({ where: { accountId, userId, pattern } });
    if (existing) return { entry: existing, added: false };
    if ((await deps.db.blockedSender.count({ where: { accountId, userId } })) >= MAX_BLOCKED_SENDERS) {
      throw new ApiError('VALIDATION_FAILED', 'body.pattern', `body.pattern: a blocklist holds at most ${MAX_BLOCKED_SENDERS} entries; remove some first.`);
    }
    return { entry: await deps.db.blockedSender.create({ data: { accountId, userId, pattern } }), added: true };
  }
  async function remove(accountId: string, userId: string | null, id: string) {
    const { count } = await deps.db.blockedSender.deleteMany({ where: { id, accountId, userId } });
    if (count === 0) throw new ApiError('NOT_FOUND');
  }

  defineRoute(app, blockList, async (req) => ({ blocked: (await list(req.session!.user.accountId, req.session!.userId)).map(view) }), { preHandler: requireSession(deps) });
  defineRoute(app, blockAdd, async (req) => view((await add(req.session!.user.accountId, req.session!.userId, req.body.pattern)).entry), { preHandler: requireSession(deps) });
  defineRoute(
    app,
    blockRemove,
    async (req) => {
      await remove(req.session!.user.accountId, req.session!.userId, req.params.id);
      return { removed: true as const };
    },
    { preHandler: requireSession(deps) },
  );

  const admin = { preHandler: requireSession(deps, { role: 'admin' }) };
  defineRoute(app, adminBlockList, async (req) => ({ blocked: (await list(req.session!.user.accountId, null)).map(view) }), admin);
  defineRoute(
    app,
    adminBlockAdd,
    async (req) => {
      const s = req.session!;
      const { entry, added } = await add(s.user.accountId, null, req.body.pattern);
      if (added) await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'blocked_sender.add', details: { pattern: entry.pattern } });
      return view(entry);
    },
    admin,
  );
  defineRoute(
    app,
    adminBlockRemove,
    async (req) => {
      const s = req.session!;
      const entry = await deps.db.blockedSender.findFirst({ where: { id: req.params.id, accountId: s.user.accountId, userId: null } });
      await remove(s.user.accountId, null, req.params.id);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'blocked_sender.remove', details: { pattern: entry?.pattern } });
      return { removed: true as const };
    },
    admin,
  );
}
