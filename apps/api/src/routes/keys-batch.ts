/**
 * The key directory for many addresses in one request (contract `getSigchains`): what
 * `GET /keys/:address/sigchain` answers for each, under the same rules — a session still setting
 * up its device reads only its own chain, and an address the caller may not encrypt to (another
 * organisation without cross-domain E2EE) is `missing` exactly like an unknown one. Three queries
 * for the chains however many users (links, resets, domain names), instead of three per user.
 */
import type { FastifyInstance } from 'fastify';
import { getSigchains } from '@sealmail/contract';
import { toBase64Url, toHex } from '@sealmail/crypto';
import type { User } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { findMailboxes, reachOnce } from '../keys/mailboxes';
import { assertApprovedDevice, requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

export async function keyBatchRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(
    app,
    getSigchains,
    async (req) => {
      const session = req.session!;
      const addresses = [...new Set(req.body.addresses)];
      const users = await findMailboxes(deps.db, addresses);
      // A session still setting up its device reads only its own chain (as the single route).
      if (users.some((u) => u?.id !== session.userId)) assertApprovedDevice(session);
      const reach = reachOnce(deps.db, session.user);
      const allowed = await Promise.all(users.map((u) => (u ? reach(u) : false)));
      const shown = new Map<string, User>();
      for (const [i, u] of users.entries()) if (u && allowed[i]) shown.set(u.id, u);
      const ids = [...shown.keys()];
      const [links, resets, domains] = ids.length
        ? await Promise.all([
            deps.db.sigchainLink.findMany({ where: { userId: { in: ids } }, orderBy: [{ userId: 'asc' }, { seqno: 'asc' }], select: { userId: true, bytes: true, createdAt: true } }),
            deps.db.keyReset.findMany({ where: { userId: { in: ids } }, orderBy: { id: 'asc' } }),
            deps.db.domain.findMany({ where: { id: { in: [...new Set([...shown.values()].map((u) => u.domainId))] } }, select: { id: true, name: true } }),
          ])
        : [[], [], []];
      const domainName = new Map(domains.map((d) => [d.id, d.name]));
      const chains = [];
      const missing: string[] = [];
      for (const [i, address] of addresses.entries()) {
        const u = users[i];
        if (!u || !allowed[i]) {
          missing.push(address);
          continue;
        }
        const own = `${u.localPart}@${domainName.get(u.domainId) ?? ''}`;
        const mine = links.filter((l) => l.userId === u.id);
        chains.push({
          userId: u.id,
          address,
          links: mine.map((l) => toBase64Url(l.bytes)),
          storedAt: mine.map((l) => l.createdAt.toISOString()),
          resets: resets
            .filter((r) => r.userId === u.id)
            .slice(0, 100)
            .map((r) => ({ at: r.resetAt.toISOString(), oldLength: r.oldLength, oldRoot: toHex(r.oldRoot), oldHead: toHex(r.oldHead) })),
          ...(own === address.toLowerCase() ? {} : { primary: own }),
        });
      }
      return { chains, missing };
    },
    // Like the single route: open to a session setting up its device (for its own chain only).
    { preHandler: requireSession(deps, { setup: true }) },
  );
}
