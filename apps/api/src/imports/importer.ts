/**
 * The mail import job (docs/admin.md "Import"): a pg-boss queue, as the outbound relay's, so any
 * API process may run it and a restart loses nothing (a job whose worker died runs again; the
 * messages it already stored are skipped as duplicates).
 *
 * One run: count the messages (progress shows done / total), then for each message, in order:
 *  1. skip it when this user already has it (SHA-256 of its Message-ID, or without one of its
 *     content with LF line ends) — the claim is a row of `imported_messages`, so two runs never
 *     store one message twice;
 *  2. hand it to deliverLocal, the path inbound mail takes: parsed, sealed to the user's newest
 *     per-user key, stored, announced; filed at the Date it names (else the mbox From_ line's),
 *     in the folder its Gmail labels name (else the one the admin chose), answered-to message
 *     known from the ids imported before (and a parent that comes after its replies gathers them
 *     into its thread);
 *  3. a message that cannot be imported is reported (position, reason) and the run goes on; a
 *     mailbox that cannot take mail (no keys yet, full) stops the run with the reason — running
 *     the import again later continues where it stopped.
 * The uploaded file is erased when the run ends, whatever the outcome.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { importLimits, type FolderName, type ImportFormat } from '@sealmail/contract';
import { recordAudit, type Db } from '@sealmail/db';
import { deliverLocal, LocalDeliveryError, type BlobStore } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';
import { countMessages, messagesOf, SourceError, type ImportItem } from './sources';
import type { ImportStaging } from './staging';
import { QueueWorker } from '../queue-worker';

const QUEUE = 'sealmail-import';

export interface ImporterOptions {
  /** Postgres for the job queue (pg-boss keeps its tables in the `pgboss` schema). */
  connectionString: string;
  /** This server's name (ids it makes). */
  hostname: string;
  /** Largest upload accepted (bytes); default importLimits.uploadBytes. */
  maxUploadBytes?: number;
  /** How often to look for imports whose job is gone (seconds; default 600, 0: never by itself). */
  sweepSeconds?: number;
}

/** An import queued this long ago without a job is not one whose job is still being sent. */
const QUEUED_GRACE_MS = 10 * 60_000;

/** What the importer is given by the API (the server's mail key: mail for a mailbox without keys is held as inbound mail is). */
export interface ImporterKeys {
  serverPublicKey: Uint8Array;
}

type Failure = { index: number; reason: string; messageId?: string };

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const bare = (id: string) => id.trim().replace(/^<|>$/g, '').toLowerCase();
const idKey = (id: string) => 'mid:' + sha256(bare(id));

/** The header block of a message (up to the first empty line), at most 256 KiB. */
function headerBlock(raw: Buffer): Buffer | null {
  const limit = Math.min(raw.length, 256 * 1024);
  const lf = raw.indexOf('\n\n');
  const crlf = raw.indexOf('\r\n\r\n');
  const ends = [lf, crlf].filter((i) => i >= 0 && i < limit);
  if (ends.length) return raw.subarray(0, Math.min(...ends) + 1);
  return raw.length <= limit ? raw : null;
}

/** Gmail's system labels (Takeout's X-Gmail-Labels) → a folder, and read/unread. */
export function placeByLabels(labels: readonly string[], fallback: FolderName): { folder: FolderName; read?: boolean } {
  if (!labels.length) return { folder: fallback };
  const has = (l: string) => labels.some((x) => x.toLowerCase() === l);
  const read = !has('unread');
  if (has('spam')) return { folder: 'spam', read };
  if (has('trash')) return { folder: 'trash', read };
  if (has('inbox')) return { folder: 'inbox', read };
  if (has('sent')) return { folder: 'sent', read };
  return { folder: 'archive', read };
}

export class Importer {
  private readonly queue: QueueWorker<{ importId: string }>;
  readonly maxUploadBytes: number;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    readonly staging: ImportStaging,
    private readonly logger: Logger,
    private readonly now: () => Date,
    readonly opts: ImporterOptions,
    private readonly keys: ImporterKeys,
  ) {
    this.maxUploadBytes = opts.maxUploadBytes ?? importLimits.uploadBytes;
    this.queue = new QueueWorker(logger, { connectionString: opts.connectionString, queue: QUEUE, label: 'import', policy: 'stately', work: (job) => this.run(job.importId), sweep: () => this.sweepStale(), sweepSeconds: opts.sweepSeconds ?? 600, sweepAtStart: true });
  }

  async start(): Promise<void> {
    // Uploads cut off by a crash (never queued) are dropped after a day, with their parts.
    await this.db.mailImport.deleteMany({ where: { status: 'uploading', createdAt: { lt: new Date(this.now().getTime() - 86_400_000) } } });
    await this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  async enqueue(importId: string): Promise<void> {
    await this.queue.send({ importId }, { singletonKey: importId, retryLimit: 2, retryDelay: 30, expireInSeconds: 6 * 3600 });
  }

  /**
   * Imports left `queued` or `running` with no job of theirs waiting or running any more (the
   * worker died on every try, and pg-boss gave up): marked failed and their upload erased, as a run
   * that stops does — otherwise they would read as running for ever and keep the staged file.
   * (Reads pg-boss's own job table: its API finds jobs by id, and the import keeps only its own id,
   * the job's singleton key.)
   */
  async sweepStale(): Promise<number> {
    const now = this.now();
    const candidates = await this.db.mailImport.findMany({ where: { OR: [{ status: 'running' }, { status: 'queued', createdAt: { lt: new Date(now.getTime() - QUEUED_GRACE_MS) } }] }, select: { id: true, accountId: true, actorUserId: true }, take: 100 });
    let failed = 0;
    for (const imp of candidates) {
      const live = await this.db.$queryRaw<unknown[]>`SELECT 1 FROM pgboss.job WHERE name = ${QUEUE} AND singleton_key = ${imp.id} AND state IN ('created', 'retry', 'active') LIMIT 1`;
      if (live.length) continue;
      const error = 'The import stopped before it finished (its worker ended on every try); upload the file again to continue where it stopped.';
      const marked = await this.db.mailImport.updateMany({ where: { id: imp.id, status: { in: ['queued', 'running'] } }, data: { status: 'failed', error, finishedAt: now } });
      if (!marked.count) continue;
      await this.staging.delete(imp.id);
      await recordAudit(this.db, { accountId: imp.accountId, actorUserId: imp.actorUserId, action: 'import.mail.finished', details: { importId: imp.id, error } });
      this.logger.warn({ importId: imp.id }, 'import: no job left, marked failed');
      failed++;
    }
    return failed;
  }

  /** One run of an import (the job's work). */
  async run(importId: string): Promise<void> {
    const imp = await this.db.mailImport.findUnique({ where: { id: importId }, include: { user: { select: { id: true, localPart: true, domain: { select: { name: true } } } } } });
    if (!imp || (imp.status !== 'queued' && imp.status !== 'running')) return;
    await this.db.mailImport.update({ where: { id: imp.id }, data: { status: 'running', startedAt: imp.startedAt ?? this.now() } });
    const address = `${imp.user.localPart}@${imp.user.domain.name}`;
    const size = Number(imp.size);
    const file = { format: imp.format as ImportFormat, size, stream: () => this.staging.stream(imp.id, imp.parts), read: this.staging.reader(imp.id, size) };
    const max = importLimits.messageBytes;
    const progress = { processed: 0, imported: 0, duplicates: 0, failed: 0 };
    const failures: Failure[] = [];
    let lastSave = Date.now();
    const save = (extra: object = {}) => this.db.mailImport.update({ where: { id: imp.id }, data: { ...progress, failures, ...extra } });
    let stopped: string | null = null;
    try {
      const total = await countMessages(file, max);
      await this.db.mailImport.update({ where: { id: imp.id }, data: { total } });
      if (total === 0) stopped = imp.format === 'zip' ? 'The zip holds no .eml or .mbox files.' : 'No messages found: is this an mbox file?';
      let index = 0;
      if (!stopped)
        for await (const item of messagesOf(file, max)) {
          index++;
          const outcome = await this.importOne(imp.userId, address, imp.folder as FolderName, item);
          progress.processed++;
          if (outcome.kind === 'imported') progress.imported++;
          else if (outcome.kind === 'duplicate') progress.duplicates++;
          else if (outcome.kind === 'failed') {
            progress.failed++;
            if (failures.length < importLimits.failuresKept) failures.push({ index, reason: `${item.where}: ${outcome.reason}`, ...(outcome.messageId ? { messageId: outcome.messageId } : {}) });
          } else {
            stopped = outcome.reason;
            break;
          }
          if (Date.now() - lastSave > 500) {
            await save();
            lastSave = Date.now();
          }
        }
    } catch (err) {
      stopped = err instanceof SourceError ? err.message : 'The import stopped on an unexpected error; run it again to continue.';
      if (!(err instanceof SourceError)) this.logger.error({ err, importId }, 'import: run failed');
    }
    // The upload is erased and the outcome recorded before the import reads as finished: whoever
    // sees "done" (the console, a test) also finds the history entry and no staged bytes.
    await this.staging.delete(imp.id);
    await recordAudit(this.db, { accountId: imp.accountId, actorUserId: imp.actorUserId, action: 'import.mail.finished', details: { importId: imp.id, user: address, ...progress, ...(stopped ? { error: stopped } : {}) } });
    await save({ status: stopped ? 'failed' : 'done', error: stopped, finishedAt: this.now() });
    this.logger.info({ importId, ...progress, stopped: !!stopped }, 'import: run finished');
  }

  private async importOne(
    userId: string,
    address: string,
    fallbackFolder: FolderName,
    item: ImportItem,
  ): Promise<{ kind: 'imported' } | { kind: 'duplicate' } | { kind: 'failed'; reason: string; messageId?: string } | { kind: 'stop'; reason: string }> {
    if (!item.bytes) return { kind: 'failed', reason: `larger than ${importLimits.messageBytes / 1024 / 1024} MiB` };
    const raw = item.bytes;
    const block = headerBlock(raw);
    if (!block || !/^[\x21-\x39\x3b-\x7e]+:/.test(block.subarray(0, 200).toString('latin1'))) return { kind: 'failed', reason: 'not a mail message (it does not start with a header block)' };
    const head = await simpleParser(Buffer.concat([block, Buffer.from('\n')]), { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true }).catch(() => null);
    if (!head || !(head.headers.has('from') || head.headers.has('date') || head.headers.has('message-id') || head.headers.has('subject'))) return { kind: 'failed', reason: 'not a mail message (no From, Date, Subject or Message-ID header)' };
    const messageId = head.messageId ? bare(head.messageId) : undefined;
    const contentHash = sha256(raw.includes('\r\n') ? Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : raw);
    const key = messageId ? idKey(messageId) : 'sha:' + contentHash;
    const refIds = [...(Array.isArray(head.references) ? head.references : head.references ? [head.references] : []), ...(head.inReplyTo ? [head.inReplyTo] : [])].map(idKey);

    try {
      await this.db.importedMessage.create({ data: { userId, key, contentHash, refs: refIds } });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') return { kind: 'duplicate' };
      throw err;
    }

    // Labels Gmail's Takeout writes; kept inside the sealed body for the user's client.
    const labelHeader = head.headers.get('x-gmail-labels');
    const labelText = typeof labelHeader === 'string' ? labelHeader : '';
    const labels = labelText.split(',').map((s) => s.trim()).filter(Boolean);
    const place = placeByLabels(labels, fallbackFolder);
    const status = head.headers.get('status');
    const read = place.read ?? (typeof status === 'string' ? /r/i.test(status) : true);

    // The message it answers: the nearest id (In-Reply-To first, then References from the end) imported before.
    const known = refIds.length ? await this.db.importedMessage.findMany({ where: { userId, key: { in: refIds }, messageId: { not: null } }, select: { key: true, messageId: true } }) : [];
    const byKey = new Map(known.map((k) => [k.key, k.messageId!]));
    const parentId = [...refIds].reverse().map((k) => byKey.get(k)).find(Boolean);

    const fallback = item.fallbackDate ?? this.now();
    try {
      const { messageId: stored } = await deliverLocal(
        // The deps the SMTP ingress gives deliverLocal: a mailbox without keys yet is treated as inbound mail is.
        { db: this.db, blobs: this.blobs, hostname: this.opts.hostname, now: () => fallback, logger: this.logger, serverPublicKey: this.keys.serverPublicKey },
        raw,
        {
          mailFrom: 'unknown@invalid',
          recipients: [{ address, userId, folder: place.folder, read }],
          ...(labelText ? { extraHeaders: [['X-Gmail-Labels', labelText]] as const } : {}),
          receivedAt: (d) => (d && !Number.isNaN(d.getTime()) ? d : fallback),
          ...(parentId ? { parentId } : {}),
        },
      );
      await this.db.importedMessage.update({ where: { userId_key: { userId, key } }, data: { messageId: stored } });
      const threadId = (await this.db.mailboxEntry.findFirst({ where: { userId, messageId: stored }, select: { threadId: true } }))?.threadId;
      if (threadId) await this.gatherReplies(userId, key, stored, threadId);
      return { kind: 'imported' };
    } catch (err) {
      await this.db.importedMessage.delete({ where: { userId_key: { userId, key } } }).catch(() => undefined);
      if (err instanceof LocalDeliveryError) {
        if (!err.permanent) return { kind: 'stop', reason: err.reason === 'no-keys' ? `${address} has not set up a device yet, so there is no key to seal mail to; run the import again once they have.` : `The mailbox of ${address} is full; raise the quota and run the import again.` };
        return { kind: 'failed', reason: err.reason === 'malformed' ? 'malformed message (the MIME structure or headers could not be read)' : 'attachments larger than 25 MiB', ...(messageId ? { messageId } : {}) };
      }
      this.logger.warn({ err }, 'import: message failed');
      return { kind: 'failed', reason: 'could not be stored', ...(messageId ? { messageId } : {}) };
    }
  }

  /** Replies imported before their parent join the parent's thread (and name it as parent). */
  private async gatherReplies(userId: string, key: string, messageId: string, threadId: string): Promise<void> {
    const replies = await this.db.importedMessage.findMany({ where: { userId, refs: { has: key }, messageId: { not: null } }, select: { messageId: true }, take: 1000 });
    if (!replies.length) return;
    const ids = replies.map((r) => r.messageId!);
    const threads = await this.db.mailboxEntry.findMany({ where: { userId, messageId: { in: ids } }, select: { threadId: true }, distinct: ['threadId'] });
    const others = threads.map((t) => t.threadId).filter((t) => t !== threadId);
    if (others.length) await this.db.mailboxEntry.updateMany({ where: { userId, threadId: { in: others } }, data: { threadId } });
    await this.db.message.updateMany({ where: { id: { in: ids }, parentId: null }, data: { parentId: messageId } });
  }
}
