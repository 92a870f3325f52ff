/**
 * Scheduled send (docs/mail.md "Scheduled send"; undo send uses the same path). The sender's
 * device seals the mail exactly as for sending now — every recipient's box, the server box for
 * standard mail, the public copy for links — and the API stores the message with the sender's
 * Outbox entry only. What releasing it needs waits in `scheduled_sends.plan`: box records (sealed
 * to each recipient's per-user key), the server box, and the link rows (passwords boxed to the
 * server's key). No plaintext of the mail is ever there.
 *
 * At `sendAt` (by the API's clock, injectable for tests) a pg-boss job releases it in one
 * transaction: the row is claimed (`status` scheduled → sent), each recipient gets their Inbox
 * entry, the sender's entry moves to Sent, outside deliveries and links are created and the
 * relay queued. Nothing needs a device: every device of the sender may be signed out.
 *
 * Jobs are sent with `startAfter` at the time; a sweeper (every `sweepSeconds`) also releases every
 * row due by the clock, so a lost job or a moved test clock still releases it. Claiming is the
 * conditional update, so a job run twice or by two processes releases a mail once.
 *
 * The rule kept for signatures: the envelope binds the sealing device's chain position at sealing
 * time, and recipients judge the mail by when it arrived (its entry's time, the release). A mail
 * whose sealing device was revoked before the time would be flagged by every recipient, so the
 * job does not release it: it fails, stays in the Outbox, and the sender reschedules it.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, composeLimits, linkExpirySeconds, type FolderName, type LinkExpiry } from '@sealmail/contract';
import { fromBase64Url } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { charge, runServerFilters, type BlobStore, type MailEvents } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';
import type { Outbound } from './outbound';
import { purgeEntries, dropUnneededMessages } from './legal-hold';
import { QueueWorker } from '../queue-worker';

const QUEUE = 'sealmail-scheduled-send';
/** A time a little in the past is accepted (device clocks drift); it leaves at once. */
const PAST_SLACK_MS = 5 * 60_000;

export interface ScheduledLink {
  id: string;
  recipient: string;
  passwordBox: string;
  secretBox: string;
}

/** What releasing a scheduled mail needs; ciphertext and routing metadata only. */
export interface SchedulePlan {
  holders: { address: string; userId: string; kind: 'to' | 'cc' | 'bcc'; box: string }[];
  external: string[];
  serverBox?: string;
  linkCopy?: { messageId: string; expiresIn: LinkExpiry; links: ScheduledLink[] };
}

/** The scheduled time, checked against the server's clock (SCHEDULE_INVALID otherwise). */
export function checkSendAt(sendAt: string, draft: boolean, now: Date): Date {
  const at = new Date(sendAt);
  if (draft || at.getTime() < now.getTime() - PAST_SLACK_MS || at.getTime() > now.getTime() + composeLimits.scheduleDays * 86_400_000) throw new ApiError('SCHEDULE_INVALID', 'body.sendAt');
  return at;
}

export interface ScheduledOptions {
  connectionString: string;
  /** How often to look for mail due by the clock (seconds; 0: never by itself). */
  sweepSeconds?: number;
  /** A recipient's out-of-office reply to a released mail (as for one sent at once: routes/mail.ts). */
  outOfOffice?: (r: { userId: string; address: string; replyTo: string; senderUserId: string; inReplyTo: string }) => Promise<void>;
}

export class ScheduledSends {
  private readonly queue: QueueWorker<{ id: string }>;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly events: MailEvents,
    private readonly logger: Logger,
    private readonly now: () => Date,
    private readonly outbound: () => Outbound | null,
    private readonly opts: ScheduledOptions,
  ) {
    this.queue = new QueueWorker(logger, {
      connectionString: opts.connectionString,
      queue: QUEUE,
      label: 'scheduled send',
      policy: 'stately',
      work: (job) => this.release(job.id),
      sweep: () => this.sweep(),
      sweepSeconds: opts.sweepSeconds ?? 30,
    });
  }

  start(): Promise<void> {
    return this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** Queues the job for a mail just scheduled, to run at its time (by the real clock). */
  async enqueue(id: string, sendAt: Date): Promise<void> {
    if (!this.queue.started) return;
    const due = sendAt.getTime() <= this.now().getTime();
    await this.queue.send({ id }, { singletonKey: id, retryLimit: 5, retryDelay: 10, ...(due ? {} : { startAfter: sendAt }) });
  }

  /**
   * Releases every mail due by this process's clock (a job waiting for its real-time start is
   * not replaced: the queue keeps one per mail); answers how many left.
   */
  async sweep(): Promise<number> {
    const due = await this.db.scheduledSend.findMany({ where: { status: 'scheduled', sendAt: { lte: this.now() } }, select: { id: true }, orderBy: { sendAt: 'asc' }, take: 200 });
    let released = 0;
    for (const d of due) if (await this.release(d.id)) released++;
    return released;
  }

  /** Releases one scheduled mail if it is due (what the job does); answers whether it left now. */
  async release(id: string): Promise<boolean> {
    const now = this.now();
    const outcome = await this.db.$transaction(async (tx) => {
      const claimed = await tx.scheduledSend.updateMany({ where: { id, status: 'scheduled', sendAt: { lte: now } }, data: { status: 'sent', releasedAt: now } });
      if (claimed.count !== 1) return null;
      const row = await tx.scheduledSend.findUniqueOrThrow({ where: { id } });
      const plan = row.plan as unknown as SchedulePlan;
      const entry = await tx.mailboxEntry.findUnique({ where: { id: row.entryId } });
      // Deleted from the Outbox meanwhile: that cancels it.
      if (!entry || entry.folder !== 'outbox') {
        await tx.scheduledSend.update({ where: { id }, data: { status: 'cancelled' } });
        return { kind: 'cancelled' as const, row, plan };
      }
      const device = await tx.device.findUnique({ where: { userId_id: { userId: row.userId, id: row.deviceId } }, select: { status: true } });
      if (device?.status !== 'approved') {
        await tx.scheduledSend.update({ where: { id }, data: { status: 'failed', error: 'The device that sealed this mail was removed before its time; open it from the Outbox and schedule it again.' } });
        return null;
      }
      const message = await tx.message.findUniqueOrThrow({ where: { id: row.messageId }, select: { id: true, mailId: true, size: true, parentId: true, senderAddress: true, attachmentSizes: true } });
      const created: { userId: string; entryId: string; folder: FolderName; address?: string }[] = [];
      for (const h of plan.holders) {
        if (!(await charge(tx, h.userId, message.size))) {
          this.logger.info({ scheduled: id }, 'scheduled send: a recipient mailbox is full');
          continue;
        }
        // Each recipient's metadata filters, as for mail sent at once (routes/mail.ts).
        const f = await runServerFilters(tx as unknown as Db, h.userId, { senders: [message.senderAddress], recipient: h.address, listIds: [], size: Number(message.size), attachments: message.attachmentSizes.length });
        const folder = f?.folder ?? 'inbox';
        const parentEntry = message.parentId ? await tx.mailboxEntry.findFirst({ where: { userId: h.userId, messageId: message.parentId }, select: { threadId: true } }) : null;
        const e = await tx.mailboxEntry.create({
          data: { userId: h.userId, messageId: message.id, folder, role: h.kind, box: fromBase64Url(h.box) as Uint8Array<ArrayBuffer>, threadId: parentEntry?.threadId ?? randomUUID(), read: f?.read ?? false, starred: f?.starred ?? false, labelIds: [...(f?.labelIds ?? [])], size: message.size, receivedAt: now },
        });
        created.push({ userId: h.userId, entryId: e.id, folder, address: h.address });
      }
      await tx.mailboxEntry.update({ where: { id: entry.id }, data: { folder: 'sent', receivedAt: now } });
      created.push({ userId: row.userId, entryId: entry.id, folder: 'sent' });
      await tx.message.update({ where: { id: message.id }, data: { sentAt: now, ...(plan.serverBox ? { serverBox: fromBase64Url(plan.serverBox) as Uint8Array<ArrayBuffer> } : {}) } });
      if (plan.serverBox && plan.external.length) {
        await tx.outboundDelivery.createMany({ data: plan.external.map((recipient) => ({ messageId: message.id, recipient, createdAt: now, nextAttemptAt: now, updatedAt: now })) });
      }
      if (plan.linkCopy) {
        const expiresAt = new Date(now.getTime() + linkExpirySeconds[plan.linkCopy.expiresIn] * 1000);
        for (const l of plan.linkCopy.links) {
          await tx.mailLink.create({
            data: { id: l.id, messageId: plan.linkCopy.messageId, sourceMessageId: message.id, senderUserId: row.userId, recipient: l.recipient, passwordBox: fromBase64Url(l.passwordBox) as Uint8Array<ArrayBuffer>, secretBox: fromBase64Url(l.secretBox) as Uint8Array<ArrayBuffer>, expiresAt, createdAt: now },
          });
          await tx.outboundDelivery.create({ data: { messageId: plan.linkCopy.messageId, recipient: l.recipient, linkId: l.id, createdAt: now, nextAttemptAt: now, updatedAt: now } });
        }
        await tx.message.update({ where: { id: plan.linkCopy.messageId }, data: { sentAt: now } });
      }
      // The plan's boxes are spent: keep only the addresses (the Outbox view lists them).
      await tx.scheduledSend.update({ where: { id }, data: { plan: { holders: [], external: [] } } });
      return { kind: 'sent' as const, row, plan, created, message };
    });
    if (!outcome) return false;
    if (outcome.kind === 'cancelled') {
      await this.dropLinkCopy(outcome.plan);
      return false;
    }
    const relay = this.outbound();
    if (relay && outcome.plan.serverBox && outcome.plan.external.length) await relay.enqueue(outcome.row.messageId);
    if (relay && outcome.plan.linkCopy) await relay.enqueue(outcome.plan.linkCopy.messageId);
    for (const c of outcome.created) void this.events.publish(this.db, c.userId, { entryId: c.entryId, folder: c.folder, kind: c.userId === outcome.row.userId && c.folder === 'sent' ? 'changed' : 'new' }).catch(() => undefined);
    for (const c of outcome.created)
      if (c.address && c.userId !== outcome.row.userId && this.opts.outOfOffice)
        await this.opts.outOfOffice({ userId: c.userId, address: c.address, replyTo: outcome.message.senderAddress, senderUserId: outcome.row.userId, inReplyTo: outcome.message.mailId }).catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'out-of-office reply failed'));
    return true;
  }

  /**
   * Cancels a scheduled mail of `userId` before it leaves: its Outbox entry (and a link copy)
   * are deleted for good. 404 for someone else's; 409 SCHEDULED_ALREADY_SENT once it left.
   */
  async cancel(userId: string, id: string): Promise<void> {
    const row = await this.db.scheduledSend.findUnique({ where: { id } });
    if (!row || row.userId !== userId) throw new ApiError('NOT_FOUND');
    const claimed = await this.db.scheduledSend.updateMany({ where: { id, status: { in: ['scheduled', 'failed'] } }, data: { status: 'cancelled' } });
    if (claimed.count !== 1) throw new ApiError('SCHEDULED_ALREADY_SENT');
    await purgeEntries(this.db, this.blobs, [{ id: row.entryId, userId }], this.now());
    await this.dropLinkCopy(row.plan as unknown as SchedulePlan);
    await this.db.scheduledSend.update({ where: { id }, data: { plan: { holders: [], external: [] } } });
    void this.events.publish(this.db, userId, { entryId: row.entryId, folder: 'outbox', kind: 'deleted' }).catch(() => undefined);
  }

  /** Deletes the public copy of a scheduled mail that will not leave, refunding its bytes. */
  private async dropLinkCopy(plan: SchedulePlan): Promise<void> {
    const copyId = plan.linkCopy?.messageId;
    if (!copyId) return;
    const blobs = await this.db.$transaction(async (tx) => {
      const msg = await tx.message.findUnique({ where: { id: copyId }, select: { size: true, senderUserId: true } });
      if (!msg) return [];
      const { blobs: gone, messages } = await dropUnneededMessages(tx, [copyId]);
      if (messages && msg.senderUserId) await charge(tx, msg.senderUserId, -msg.size);
      return gone;
    });
    await this.blobs.delete(blobs);
  }
}
