/**
 * Admin: the outbound queue of the admin's own account (docs/mail.md §9): which outside
 * deliveries are waiting, failed or were cancelled, and why; retry now or cancel. Admins see
 * addresses and states, never content. Every retry and cancel is in the account's history.
 */
import type { FastifyInstance } from 'fastify';
import { adminOutboundCancel, adminOutboundList, adminOutboundRetry, ApiError } from '@sealmail/contract';
import { recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

type Row = {
  id: string;
  linkId: string | null;
  recipient: string;
  status: 'queued' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  nextAttemptAt: Date;
  bouncedAt: Date | null;
  message: { senderAddress: string };
};

const view = (r: Row) => ({
  id: r.id,
  kind: r.linkId ? ('link-notice' as const) : ('mail' as const),
  sender: r.message.senderAddress,
  recipient: r.recipient,
  status: r.status,
  attempts: r.attempts,
  lastError: r.lastError,
  createdAt: r.createdAt.toISOString(),
  nextAttemptAt: r.status === 'queued' ? r.nextAttemptAt.toISOString() : null,
  bouncedAt: r.bouncedAt?.toISOString() ?? null,
});

/** Where-clause of the outbound deliveries of mail sent by users of this account (senders on its domains). */
export async function outboundOfAccount(db: ApiDeps['db'], accountId: string) {
  const domains = await db.domain.findMany({ where: { accountId }, select: { name: true } });
  return { message: { senderUserId: { not: null }, OR: domains.map((d) => ({ senderAddress: { endsWith: `@${d.name}` } })) } };
}

export async function outboundAdminRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const admin = requireSession(deps, { role: 'admin' });
  const ofAccount = (accountId: string) => outboundOfAccount(deps.db, accountId);

  async function own(accountId: string, id: string): Promise<Row> {
    const row = await deps.db.outboundDelivery.findFirst({ where: { id, ...(await ofAccount(accountId)) }, include: { message: { select: { senderAddress: true } } } });
    if (!row) throw new ApiError('NOT_FOUND');
    return row;
  }

  defineRoute(
    app,
    adminOutboundList,
    async (req) => {
      const { status, limit } = req.query;
      const rows = await deps.db.outboundDelivery.findMany({
        where: { ...(await ofAccount(req.session!.user.accountId)), ...(status === 'all' ? {} : { status }) },
        include: { message: { select: { senderAddress: true } } },
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        take: limit,
      });
      return { deliveries: rows.map(view) };
    },
    { preHandler: admin },
  );

  for (const [route, action] of [
    [adminOutboundRetry, 'retry'],
    [adminOutboundCancel, 'cancel'],
  ] as const) {
    defineRoute(
      app,
      route,
      async (req) => {
        const s = req.session!;
        if (!deps.outbound) throw new ApiError('OUTBOUND_UNAVAILABLE');
        const row = await own(s.user.accountId, req.params.id);
        const done = action === 'retry' ? await deps.outbound.retryNow(row.id) : await deps.outbound.cancel(row.id);
        if (!done) throw new ApiError('CONFLICT', undefined, action === 'retry' ? 'This delivery cannot be tried again (it was delivered, or the server no longer holds a key to read it).' : 'Only a queued delivery that is not being tried right now can be cancelled.');
        await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: `outbound.${action}`, details: { delivery: row.id, recipient: row.recipient } });
        return view(await own(s.user.accountId, row.id));
      },
      { preHandler: admin },
    );
  }
}
