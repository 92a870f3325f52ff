/**
 * Organising mail (docs/mail.md "Organising mail"): custom folders (names sealed to the user, the
 * server keeps ids), label renames, bulk changes with their before/after places (for Undo),
 * Restore from Trash, Empty Trash (for good; legal hold keeps held entries out of sight), and
 * Report spam / Not spam, which remembers the sender for the ingress (apps/smtp/src/deliver.ts).
 *
 * A custom folder's mail is filed with folder `archive` and `folder_id` set (so "All mail" and
 * search see it like archived mail); in Trash it keeps `folder_id`, and `trashed_from` names the
 * folder before, so Restore can put it back.
 */
import type { FastifyInstance } from 'fastify';
import {
  ApiError,
  folderCreate,
  folderDelete,
  folderList,
  folderRename,
  labelRename,
  mailBulk,
  mailRestore,
  myLists,
  organiseLimits,
  senderVerdictList,
  senderVerdictRemove,
  spamReport,
  trashEmpty,
} from '@sealmail/contract';
import { fromBase64Url, toBase64Url } from '@sealmail/crypto';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { purgeEntries } from '../mail/legal-hold';
import type { ApiDeps } from '../deps';

type Place = { id: string; folder: 'inbox' | 'drafts' | 'sent' | 'outbox' | 'archive' | 'trash' | 'spam'; folderId: string | null };
const place = (e: Place): Place => ({ id: e.id, folder: e.folder, folderId: e.folderId });

function sealed(name: string, field: string): Uint8Array<ArrayBuffer> {
  try {
    const bytes = fromBase64Url(name);
    if (bytes.length < 16) throw new Error('short');
    return bytes as Uint8Array<ArrayBuffer>;
  } catch {
    throw new ApiError('VALIDATION_FAILED', field, `${field}: not a sealed name.`);
  }
}

export async function organiseRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const session = { preHandler: requireSession(deps) };
  const publish = (userId: string, entryId: string, folder: Place['folder'], kind: 'changed' | 'deleted') =>
    void deps.events.publish(deps.db, userId, { entryId, folder, kind }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));

  async function counts(userId: string, ids: string[]) {
    if (!ids.length) return new Map<string, { total: number; unread: number }>();
    // Maintained by triggers (mail/counts.ts), not scanned.
    const rows = await deps.db.mailboxCount.findMany({ where: { userId, scope: 'custom', key: { in: ids } }, select: { key: true, total: true, unread: true } });
    return new Map(rows.map((r) => [r.key, { total: r.total, unread: r.unread }]));
  }
  const view = (f: { id: string; name: Uint8Array }, c?: { total: number; unread: number }) => ({ id: f.id, name: toBase64Url(f.name), total: c?.total ?? 0, unread: c?.unread ?? 0 });
  async function ownFolder(userId: string, id: string) {
    const f = await deps.db.mailFolder.findFirst({ where: { id, userId } });
    if (!f) throw new ApiError('NOT_FOUND');
    return f;
  }
  /** The caller's entries among `ids` (all of them, or NOT_FOUND: no partial moves). */
  async function ownEntries(userId: string, ids: string[]) {
    const unique = [...new Set(ids)];
    const rows = await deps.db.mailboxEntry.findMany({ where: { userId, id: { in: unique } }, select: { id: true, folder: true, folderId: true, messageId: true, labelIds: true } });
    if (rows.length !== unique.length) throw new ApiError('NOT_FOUND', 'body.entryIds', 'body.entryIds: an entry is not in your mailbox (deleted meanwhile?).');
    return rows;
  }

  defineRoute(
    app,
    folderList,
    async (req) => {
      const userId = req.session!.userId;
      const rows = await deps.db.mailFolder.findMany({ where: { userId }, orderBy: { createdAt: 'asc' }, take: organiseLimits.folders });
      const c = await counts(userId, rows.map((r) => r.id));
      return { folders: rows.map((f) => view(f, c.get(f.id))) };
    },
    { ...session, logLevel: 'warn' },
  );

  defineRoute(
    app,
    folderCreate,
    async (req) => {
      const s = req.session!;
      const name = sealed(req.body.name, 'body.name');
      if ((await deps.db.mailFolder.count({ where: { userId: s.userId } })) >= organiseLimits.folders) throw new ApiError('CONFLICT', undefined, `At most ${organiseLimits.folders} folders.`);
      if (await deps.db.mailFolder.findUnique({ where: { id: req.body.id }, select: { id: true } })) throw new ApiError('CONFLICT', 'body.id', 'A folder with this id exists; choose another id.');
      const f = await deps.db.mailFolder.create({ data: { id: req.body.id, userId: s.userId, name } });
      return view(f);
    },
    session,
  );

  defineRoute(
    app,
    folderRename,
    async (req) => {
      const s = req.session!;
      const f = await ownFolder(s.userId, req.params.folderId);
      const updated = await deps.db.mailFolder.update({ where: { id: f.id }, data: { name: sealed(req.body.name, 'body.name') } });
      return view(updated, (await counts(s.userId, [f.id])).get(f.id));
    },
    session,
  );

  defineRoute(
    app,
    folderDelete,
    async (req) => {
      const s = req.session!;
      const f = await ownFolder(s.userId, req.params.folderId);
      const to = req.query.moveTo;
      const moved = await deps.db.$transaction(async (tx) => {
        const n = await tx.mailboxEntry.updateMany({
          where: { userId: s.userId, folderId: f.id, folder: 'archive' },
          data: to === 'trash' ? { folder: 'trash', folderId: null, trashedFrom: 'archive' } : { folder: to, folderId: null, trashedFrom: null },
        });
        // What is in Trash from this folder is restored to the Inbox later (the folder is gone).
        await tx.mailboxEntry.updateMany({ where: { userId: s.userId, folderId: f.id }, data: { folderId: null, trashedFrom: 'inbox' } });
        await tx.mailFolder.delete({ where: { id: f.id } });
        return n.count;
      });
      return { id: f.id, moved };
    },
    session,
  );

  defineRoute(
    app,
    labelRename,
    async (req) => {
      const s = req.session!;
      const l = await deps.db.label.findFirst({ where: { id: req.params.labelId, userId: s.userId } });
      if (!l) throw new ApiError('NOT_FOUND');
      const updated = await deps.db.label.update({ where: { id: l.id }, data: { name: sealed(req.body.name, 'body.name') } });
      return { id: updated.id, name: toBase64Url(updated.name) };
    },
    session,
  );

  defineRoute(
    app,
    mailBulk,
    async (req) => {
      const s = req.session!;
      const b = req.body;
      const rows = await ownEntries(s.userId, b.entryIds);
      const moving = b.folder !== undefined || b.folderId !== undefined;
      if (moving && rows.some((r) => r.folder === 'drafts' || r.folder === 'outbox')) {
        throw new ApiError('CONFLICT', 'body.entryIds', 'Drafts and queued mail are sent or deleted, not moved.');
      }
      if (b.folderId) await ownFolder(s.userId, b.folderId);
      const labels = [...new Set([...(b.addLabels ?? []), ...(b.removeLabels ?? [])])];
      if (labels.length && (await deps.db.label.count({ where: { userId: s.userId, id: { in: labels } } })) !== labels.length) {
        throw new ApiError('VALIDATION_FAILED', 'body.addLabels', 'body.addLabels: not your labels.');
      }
      const before = rows.map(place);
      await deps.db.$transaction(async (tx) => {
        for (const r of rows) {
          const data: NonNullable<Parameters<typeof tx.mailboxEntry.update>[0]['data']> = {};
          if (b.folderId) Object.assign(data, { folder: 'archive', customFolder: { connect: { id: b.folderId } }, trashedFrom: null });
          else if (b.folder === 'trash') Object.assign(data, r.folder === 'trash' ? {} : { folder: 'trash', trashedFrom: r.folder });
          else if (b.folder) Object.assign(data, { folder: b.folder, customFolder: { disconnect: true }, trashedFrom: null });
          if (b.read !== undefined) data.read = b.read;
          if (b.starred !== undefined) data.starred = b.starred;
          if (b.addLabels || b.removeLabels) {
            const next = new Set(r.labelIds);
            for (const l of b.addLabels ?? []) next.add(l);
            for (const l of b.removeLabels ?? []) next.delete(l);
            if (next.size > 50) throw new ApiError('VALIDATION_FAILED', 'body.addLabels', 'body.addLabels: at most 50 labels on one mail.');
            data.labelIds = [...next];
          }
          if (Object.keys(data).length) await tx.mailboxEntry.update({ where: { id: r.id }, data });
        }
      });
      const after = await deps.db.mailboxEntry.findMany({ where: { userId: s.userId, id: { in: rows.map((r) => r.id) } }, select: { id: true, folder: true, folderId: true } });
      for (const a of after) publish(s.userId, a.id, a.folder, 'changed');
      return { before, after: after.map(place) };
    },
    session,
  );

  defineRoute(
    app,
    mailRestore,
    async (req) => {
      const s = req.session!;
      const rows = await deps.db.mailboxEntry.findMany({ where: { userId: s.userId, id: { in: [...new Set(req.body.entryIds)] } }, select: { id: true, folder: true, folderId: true, trashedFrom: true } });
      if (rows.length !== new Set(req.body.entryIds).size || rows.some((r) => r.folder !== 'trash')) {
        throw new ApiError('NOT_FOUND', 'body.entryIds', 'body.entryIds: only mail in your Trash can be restored.');
      }
      const restored: Place[] = [];
      await deps.db.$transaction(async (tx) => {
        for (const r of rows) {
          // Back into its custom folder when it came from one that still exists; else to the
          // folder it was in (never Drafts or Outbox: those are not moved), else the Inbox.
          const from = r.trashedFrom && ['inbox', 'archive', 'spam', 'sent'].includes(r.trashedFrom) ? r.trashedFrom : 'inbox';
          const folder = r.folderId ? 'archive' : from;
          await tx.mailboxEntry.update({ where: { id: r.id }, data: { folder, trashedFrom: null } });
          restored.push({ id: r.id, folder, folderId: r.folderId });
        }
      });
      for (const r of restored) publish(s.userId, r.id, r.folder, 'changed');
      return { restored };
    },
    session,
  );

  defineRoute(
    app,
    trashEmpty,
    async (req) => {
      const s = req.session!;
      let deleted = 0;
      // In pages, so a huge Trash does not hold one transaction for long.
      for (;;) {
        const page = await deps.db.mailboxEntry.findMany({ where: { userId: s.userId, folder: 'trash' }, select: { id: true, userId: true }, take: 200 });
        if (!page.length) break;
        await purgeEntries(deps.db, deps.blobs, page, deps.now());
        for (const e of page) publish(s.userId, e.id, 'trash', 'deleted');
        deleted += page.length;
      }
      return { deleted };
    },
    session,
  );

  defineRoute(
    app,
    spamReport,
    async (req) => {
      const s = req.session!;
      const rows = await ownEntries(s.userId, req.body.entryIds);
      if (rows.some((r) => r.folder === 'drafts' || r.folder === 'outbox')) throw new ApiError('CONFLICT', 'body.entryIds', 'Drafts and queued mail are sent or deleted, not moved.');
      const self = `${s.user.localPart}@${s.user.domain.name}`.toLowerCase();
      const messages = await deps.db.message.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.messageId))] } }, select: { senderAddress: true } });
      // The sender as the server saw it (the envelope sender of outside mail); never the user themselves.
      const senders = [...new Set(messages.map((m) => m.senderAddress.toLowerCase()).filter((a) => a.includes('@') && a !== self))];
      const verdict = req.body.verdict === 'spam' ? 'spam' : 'allow';
      const folder = req.body.verdict === 'spam' ? 'spam' : 'inbox';
      await deps.db.$transaction(async (tx) => {
        for (const address of senders) {
          await tx.senderVerdict.upsert({ where: { userId_address: { userId: s.userId, address } }, create: { userId: s.userId, address, verdict }, update: { verdict, createdAt: deps.now() } });
        }
        await tx.mailboxEntry.updateMany({ where: { userId: s.userId, id: { in: rows.map((r) => r.id) } }, data: { folder, folderId: null, trashedFrom: null } });
      });
      for (const r of rows) publish(s.userId, r.id, folder, 'changed');
      return { moved: rows.length, senders };
    },
    session,
  );

  defineRoute(
    app,
    myLists,
    async (req) => {
      const rows = await deps.db.mailingList.findMany({ where: { accountId: req.session!.user.accountId }, select: { localPart: true, name: true, domain: { select: { name: true } } }, orderBy: { localPart: 'asc' }, take: 1000 });
      return { lists: rows.map((l) => ({ address: `${l.localPart}@${l.domain.name}`, name: l.name })) };
    },
    session,
  );

  defineRoute(
    app,
    senderVerdictList,
    async (req) => {
      const rows = await deps.db.senderVerdict.findMany({ where: { userId: req.session!.userId }, orderBy: { address: 'asc' }, take: 1000 });
      return { verdicts: rows.map((r) => ({ address: r.address, verdict: r.verdict === 'spam' ? ('spam' as const) : ('allow' as const), createdAt: r.createdAt.toISOString() })) };
    },
    session,
  );

  defineRoute(
    app,
    senderVerdictRemove,
    async (req) => {
      const { count } = await deps.db.senderVerdict.deleteMany({ where: { userId: req.session!.userId, address: req.params.address.toLowerCase() } });
      if (!count) throw new ApiError('NOT_FOUND');
      return { removed: true as const };
    },
    session,
  );
}
