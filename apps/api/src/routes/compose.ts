/**
 * Compose helpers (docs/mail.md "Compose"): the Outbox's scheduled mails (list, cancel), the
 * undo-send delay, and signatures and templates — sealed on the device to the user's own
 * per-user key (self boxes); the server stores and returns their ciphertext only.
 */
import type { FastifyInstance } from 'fastify';
import {
  ApiError,
  composeLimits,
  composeSettingsGet,
  composeSettingsUpdate,
  scheduledCancel,
  scheduledList,
  signatureDelete,
  signatureList,
  signaturePut,
  templateDelete,
  templateList,
  templatePut,
} from '@sealmail/contract';
import { fromBase64Url, toBase64Url } from '@sealmail/crypto';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { ScheduledSends } from '../mail/scheduled';
import type { ApiDeps } from '../deps';

const sealedBytes = (b64: string) => {
  try {
    const bytes = fromBase64Url(b64);
    if (bytes.length < 16) throw new Error('short');
    return bytes as Uint8Array<ArrayBuffer>;
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'body.sealed', 'body.sealed: expected a sealed box.');
  }
};

export async function composeRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const session = requireSession(deps);
  // Cancelling needs no queue: a process without the release job can still cancel.
  const scheduled = () => deps.scheduled ?? new ScheduledSends(deps.db, deps.blobs, deps.events, app.log as never, deps.now, () => deps.outbound, { connectionString: '' });

  defineRoute(
    app,
    scheduledList,
    async (req) => {
      const rows = await deps.db.scheduledSend.findMany({ where: { userId: req.session!.userId, status: { in: ['scheduled', 'failed'] } }, orderBy: { sendAt: 'asc' }, take: composeLimits.scheduled });
      const messages = new Map((await deps.db.message.findMany({ where: { id: { in: rows.map((r) => r.messageId) } }, select: { id: true, toAddresses: true, ccAddresses: true } })).map((m) => [m.id, m]));
      return {
        scheduled: rows.map((r) => ({
          id: r.id,
          entryId: r.entryId,
          sendAt: r.sendAt.toISOString(),
          status: r.status as 'scheduled' | 'failed',
          error: r.error,
          to: messages.get(r.messageId)?.toAddresses ?? [],
          cc: messages.get(r.messageId)?.ccAddresses ?? [],
        })),
      };
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    scheduledCancel,
    async (req) => {
      await scheduled().cancel(req.session!.userId, req.params.id);
      return { id: req.params.id, cancelled: true as const };
    },
    { preHandler: session },
  );

  defineRoute(app, composeSettingsGet, async (req) => ({ undoSendSeconds: (await deps.db.user.findUniqueOrThrow({ where: { id: req.session!.userId }, select: { undoSendSeconds: true } })).undoSendSeconds }), { preHandler: session });

  defineRoute(
    app,
    composeSettingsUpdate,
    async (req) => {
      const u = await deps.db.user.update({ where: { id: req.session!.userId }, data: { undoSendSeconds: req.body.undoSendSeconds }, select: { undoSendSeconds: true } });
      return { undoSendSeconds: u.undoSendSeconds };
    },
    { preHandler: session },
  );

  const signatureView = (s: { id: string; address: string | null; isDefault: boolean; sealed: Uint8Array; updatedAt: Date }) => ({ id: s.id, address: s.address, isDefault: s.isDefault, sealed: toBase64Url(s.sealed), updatedAt: s.updatedAt.toISOString() });

  defineRoute(
    app,
    signatureList,
    async (req) => ({ signatures: (await deps.db.mailSignature.findMany({ where: { userId: req.session!.userId }, orderBy: { updatedAt: 'asc' }, take: composeLimits.signatures })).map(signatureView) }),
    { preHandler: session },
  );

  defineRoute(
    app,
    signaturePut,
    async (req) => {
      const s = req.session!;
      const id = req.params.id;
      const sealed = sealedBytes(req.body.sealed);
      const own = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId }, select: { localPart: true, domain: { select: { name: true } }, aliases: { select: { localPart: true, domain: { select: { name: true } } } } } });
      const mine = [`${own.localPart}@${own.domain.name}`, ...own.aliases.map((a) => `${a.localPart}@${a.domain.name}`)];
      if (req.body.address && !mine.includes(req.body.address)) throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: ${req.body.address} is not one of your addresses.`);
      const saved = await deps.db.$transaction(async (tx) => {
        const existing = await tx.mailSignature.findUnique({ where: { id } });
        if (existing && existing.userId !== s.userId) throw new ApiError('NOT_FOUND');
        if (!existing && (await tx.mailSignature.count({ where: { userId: s.userId } })) >= composeLimits.signatures) throw new ApiError('CONFLICT', undefined, `At most ${composeLimits.signatures} signatures.`);
        // One default per sending address (null: the default for any address without its own).
        if (req.body.isDefault) await tx.mailSignature.updateMany({ where: { userId: s.userId, address: req.body.address, isDefault: true, id: { not: id } }, data: { isDefault: false } });
        const data = { address: req.body.address, isDefault: req.body.isDefault, sealed, updatedAt: deps.now() };
        return tx.mailSignature.upsert({ where: { id }, create: { id, userId: s.userId, ...data }, update: data });
      });
      return signatureView(saved);
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    signatureDelete,
    async (req) => {
      const gone = await deps.db.mailSignature.deleteMany({ where: { id: req.params.id, userId: req.session!.userId } });
      if (!gone.count) throw new ApiError('NOT_FOUND');
      return { id: req.params.id, deleted: true as const };
    },
    { preHandler: session },
  );

  const templateView = (t: { id: string; sealed: Uint8Array; updatedAt: Date }) => ({ id: t.id, sealed: toBase64Url(t.sealed), updatedAt: t.updatedAt.toISOString() });

  defineRoute(
    app,
    templateList,
    async (req) => ({ templates: (await deps.db.mailTemplate.findMany({ where: { userId: req.session!.userId }, orderBy: { updatedAt: 'asc' }, take: composeLimits.templates })).map(templateView) }),
    { preHandler: session },
  );

  defineRoute(
    app,
    templatePut,
    async (req) => {
      const s = req.session!;
      const id = req.params.id;
      const sealed = sealedBytes(req.body.sealed);
      const saved = await deps.db.$transaction(async (tx) => {
        const existing = await tx.mailTemplate.findUnique({ where: { id } });
        if (existing && existing.userId !== s.userId) throw new ApiError('NOT_FOUND');
        if (!existing && (await tx.mailTemplate.count({ where: { userId: s.userId } })) >= composeLimits.templates) throw new ApiError('CONFLICT', undefined, `At most ${composeLimits.templates} templates.`);
        return tx.mailTemplate.upsert({ where: { id }, create: { id, userId: s.userId, sealed, updatedAt: deps.now() }, update: { sealed, updatedAt: deps.now() } });
      });
      return templateView(saved);
    },
    { preHandler: session },
  );

  defineRoute(
    app,
    templateDelete,
    async (req) => {
      const gone = await deps.db.mailTemplate.deleteMany({ where: { id: req.params.id, userId: req.session!.userId } });
      if (!gone.count) throw new ApiError('NOT_FOUND');
      return { id: req.params.id, deleted: true as const };
    },
    { preHandler: session },
  );
}
