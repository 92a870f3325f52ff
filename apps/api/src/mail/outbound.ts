/**
 * The outbound relay: standard mail and expiring-link notices to recipients outside this server
 * (MISSION §3, docs/mail.md §9–§10).
 *
 * State lives in Postgres: one `outbound_deliveries` row per outside recipient, with its status,
 * attempts, the time it was queued and the time of its next attempt. Work runs as pg-boss jobs
 * (one per message and attempt round); a sweeper queues messages whose next attempt is due, so a
 * restart loses nothing. A worker first leases the rows it will try (an atomic UPDATE … RETURNING
 * on rows whose lease is free), so several workers in several processes never send one
 * recipient's copy twice at the same time. The lease is short (`leaseSeconds`, 2 minutes by
 * default) and renewed while the worker works: a killed worker's rows are free again a lease
 * later. The lease's expiry time is also its owner's token: a worker renews, sends and settles
 * only rows whose lease is still exactly the one it set, so a worker that lost its lease (it
 * stalled past it, and another took the rows) sends nothing more and overwrites nothing.
 *
 * One attempt: open the content in memory (a standard mail through the server box its sender's
 * client added; a link notice from the link's password, boxed to the server key until then),
 * DKIM-sign with the sender domain's key, resolve each recipient domain's MX and each MX host's
 * addresses, and deliver over SMTP (STARTTLS when offered) to those addresses — never to a
 * loopback or private one unless configured (`allowPrivateTargets`), and to the address that was
 * checked, with the MX name kept for TLS. A 5xx fails a recipient at once (each recipient by its
 * own RCPT reply); a host refusing the session at its greeting is skipped for the next MX host;
 * a 4xx or a connection failure schedules the next attempt on a Postfix-like back-off (5 minutes
 * doubling up to 4 hours) until the queue lifetime (5 days) has passed, then fails it. Every failure (and an admin's cancel)
 * sends the sender an RFC 3464 report into their own mailbox. When no recipient of a message is
 * queued any more, the server box (or the link's password box) is erased: the server can no
 * longer read the message.
 */
import { randomBytes } from 'node:crypto';
import { resolveMx as dnsResolveMx } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import ICAL from 'ical.js';
import type { TLSSocket } from 'node:tls';
import type { SendMailOptions } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { parseMime } from '@sealmail/client/identity';
import { decodeEnvelope, openLinkSecret, openMailPiece, openManifest, openServerBox, passwordDigest, toBase64Url } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { charge, deliverLocal, headerSectionOf, LocalDeliveryError, LOOP_HEADER, loopMarksIn, REPORT_ALLOWANCE_BYTES, type BlobStore, type DkimKey, type ServerMailKey } from '@sealmail/mailstore';
import { lookupNames, systemResolver, type DnsResolver, type DnssecResolver, type Logger, type MxAnswer } from '@sealmail/server';
import { daneFor, DaneMismatch, peerChain, verifyDane } from './dane';
import { buildDsn, statusOfReply, type DsnRecipient } from './dsn';
import { filterMxByPolicy, isStsDeliveryFailure, MtaSts, stsTransportOptions } from './mta-sts';
import { deliverToHost, isGreetingRefusal } from './smtp-deliver';
import { QueueWorker } from '../queue-worker';

/** When to try again, and when to give up (defaults in the spirit of Postfix). */
export interface RetrySchedule {
  /** Wait after the first failed attempt; doubled after each further one. */
  minBackoffSeconds: number;
  /** The longest wait between two attempts. */
  maxBackoffSeconds: number;
  /** Give up this long after the message was queued. */
  lifetimeSeconds: number;
}

export const defaultRetrySchedule: RetrySchedule = Object.freeze({ minBackoffSeconds: 300, maxBackoffSeconds: 4 * 3600, lifetimeSeconds: 5 * 86400 });

/** Seconds to wait after the n-th failed attempt (n ≥ 1). */
export function retryDelaySeconds(attempt: number, s: RetrySchedule): number {
  return Math.min(s.maxBackoffSeconds, s.minBackoffSeconds * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}

export interface OutboundOptions {
  /** Postgres for the job queue (pg-boss keeps its tables in the `pgboss` schema). */
  connectionString: string;
  serverKey: ServerMailKey;
  dkim: (domain: string) => Promise<DkimKey>;
  /** This server's name in EHLO, in reports, and in ids it makes. */
  hostname: string;
  /** Base URL of the link viewer (links are `<viewerUrl>/m/<id>#<password>.<digest>`). */
  viewerUrl?: string;
  /** DNS for MX and MTA-STS lookups (packages/server/src/dns.ts; default: the system resolver). */
  resolver?: DnsResolver;
  /** MX lookup; tests answer from a table pointing at loopback (the only stand-in for the outside). */
  resolveMx?: (domain: string) => Promise<{ exchange: string; priority: number }[]>;
  /**
   * The addresses (A, then AAAA) of an MX host named by a host name; empty when it has none.
   * Default: `resolver` (else node:dns/promises). `localhost` and `*.localhost` are loopback
   * without asking either (RFC 6761 §6.3). Tests answer from a table. The relay checks each address and
   * connects to it itself: nothing is looked up again between the check and the connection.
   */
  resolveAddresses?: (host: string) => Promise<string[]>;
  /** SMTP port of remote MX hosts (25; tests use a loopback port). */
  port?: number;
  /**
   * Trust for remote STARTTLS certificates where a policy asks for verified TLS (MTA-STS enforce;
   * tests trust their own CA). Without such a policy STARTTLS is opportunistic (RFC 7435): the
   * certificate is not checked, and a failed handshake is retried in plaintext.
   */
  tls?: { ca?: string; rejectUnauthorized?: boolean };
  /**
   * Deliver to loopback, private and link-local addresses (an MX host that is or resolves to one,
   * or a bracketed IP literal). Off by default: a user must not be able to make the relay connect
   * into the server's own network. Tests and a lab setup turn it on.
   */
  allowPrivateTargets?: boolean;
  retry?: RetrySchedule;
  /** DNSSEC-aware lookups for DANE (RFC 7672); without it DANE is not used. */
  dnssec?: DnssecResolver;
  /** MTA-STS policies of recipient domains (RFC 8461); tests pass one answering TXT from a table. */
  mtaSts?: MtaSts;
  /** How often the sweeper queues due retries (seconds; 0: never by itself — tests call sweep()). */
  sweepSeconds?: number;
  /**
   * How long a worker holds the deliveries it tries before another process may take them
   * (seconds, default 120). Renewed every third of it while the attempt runs, so it bounds how
   * long a killed worker's deliveries wait, not how long an attempt may take.
   */
  leaseSeconds?: number;
  now?: () => Date;
  /**
   * A mailing list of this server (a user posting to their organisation's list, docs/mail.md
   * "Posting to a list from inside"): expands the message to the list's members here instead of
   * relaying it; answers null when the address is no list here, else the copy it stored (whose
   * outside members this relay then sends).
   */
  postToList?: (address: string, raw: Buffer, mailFrom: string) => Promise<{ messageId: string } | null>;
}

/**
 * pg-boss queue. Policy `stately`: at most one waiting and one running job per message
 * (singletonKey), so sweeps and admin actions never pile up duplicate jobs.
 */
const QUEUE = 'sealmail-outbound';
/** How long a worker holds the rows it is trying, by default (a crashed worker's rows are free again after it). */
export const DEFAULT_LEASE_SECONDS = 120;

/** A remote answer that will not change on retry. */
class Permanent extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly host: string,
  ) {
    super(message);
  }
}

interface Claimed {
  id: string;
  /** The lease's expiry as Postgres wrote it (full precision): the owner's token. */
  lease: string;
  recipient: string;
  attempts: number;
  created_at: Date;
  link_id: string | null;
}

interface Outcome {
  status: 'delivered' | 'failed' | 'queued';
  error: string | null;
  code?: number;
  host?: string;
}

/** What the relay sends for one message: its content, and the header block for reports. */
interface Content {
  mail: SendMailOptions;
  headers: string;
  wipe: () => void;
}


/** Mail hosts one delivery attempt tries at most (the most preferred first). */
export const MX_HOSTS_PER_ATTEMPT = 5;
/** Addresses one delivery attempt connects to at most, over all its mail hosts. */
export const MX_ADDRESSES_PER_ATTEMPT = 10;

/** A mail host to try: its name (or address literal) from the MX answer. */
interface MailHost {
  exchange: string;
  priority: number;
  /** The domain itself, for want of an MX record (RFC 5321 §5.1). */
  implicit?: boolean;
}
export class Outbound {
  private readonly queue: QueueWorker<{ messageId: string }>;
  private readonly now: () => Date;
  private readonly mtaSts: MtaSts;
  readonly schedule: RetrySchedule;
  readonly leaseSeconds: number;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
    readonly opts: OutboundOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.schedule = opts.retry ?? defaultRetrySchedule;
    this.leaseSeconds = opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    const resolver = opts.resolver;
    this.mtaSts = opts.mtaSts ?? new MtaSts({ logger, now: this.now, ...(resolver ? { resolveTxt: async (name: string) => (await resolver(name, 'TXT')) as string[][] } : {}) });
    this.queue = new QueueWorker(logger, {
      connectionString: opts.connectionString,
      queue: QUEUE,
      label: 'outbound',
      policy: 'stately',
      max: 4,
      // pg-boss fails an active job past its expiry at its maintenance run: a killed process's job
      // must not outlive its lease by long (the queue's stately policy lets no second job of that
      // message start while it is active).
      maintenanceIntervalSeconds: Math.min(120, this.leaseSeconds),
      work: (job) => this.attempt(job.messageId),
      sweep: () => this.sweep(),
      sweepSeconds: opts.sweepSeconds ?? 60,
    });
  }

  start(): Promise<void> {
    return this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** Queues an attempt round for a message (its due recipients, and any reports still owed). */
  async enqueue(messageId: string): Promise<void> {
    // Answers null (nothing added) when the message already has a job waiting: that one will do.
    await this.queue.send({ messageId }, { singletonKey: messageId, retryLimit: 2, retryDelay: 30, expireInSeconds: this.leaseSeconds });
  }

  /** Jobs waiting in the relay's pg-boss queue (the admin console's overview). */
  queueSize(): Promise<number> {
    return this.queue.size();
  }

  /**
   * A short notice the server itself writes (an admin's set-up link for a new user), sent now by
   * the relay's own path (MX, MTA-STS, DKIM of the sender's domain), not queued: the admin learns
   * at once whether it went. Throws with the remote's answer when it did not.
   */
  async sendNotice(n: { from: string; to: string; subject: string; text: string }): Promise<void> {
    const dkim = await this.opts.dkim(n.from.split('@')[1]!);
    const rejected = await this.sendTo(n.to.split('@')[1]!, [n.to], n.from, { from: n.from, to: n.to, subject: n.subject, text: n.text, date: this.now() }, dkim);
    const r = rejected.get(n.to.toLowerCase());
    if (r) throw new Error(`${r.host} answered ${r.message}`);
  }

  /**
   * Deletes the public copies of expired links (MISSION §3): the ciphertext behind them goes,
   * the link rows stay so the links answer "expired" and the sender keeps the visit record; the
   * bytes are refunded to the sender. Answers how many copies went.
   */
  async expireLinks(): Promise<number> {
    const now = this.now();
    const due = await this.db.mailLink.findMany({ where: { expiresAt: { lte: now }, messageId: { not: null } }, select: { messageId: true }, distinct: ['messageId'], take: 200 });
    let gone = 0;
    for (const { messageId } of due) {
      const blobIds = await this.db.$transaction(async (tx) => {
        const msg = await tx.message.findUnique({ where: { id: messageId! }, select: { id: true, size: true, senderUserId: true, blobs: { select: { id: true } } } });
        if (!msg) return [];
        await tx.mailLink.updateMany({ where: { messageId: msg.id }, data: { expiredAt: now, secretBox: null } });
        // Only a copy nobody holds in a mailbox (public copies never are) is deleted.
        if ((await tx.mailboxEntry.count({ where: { messageId: msg.id } })) + (await tx.heldMailboxEntry.count({ where: { messageId: msg.id } }))) return [];
        await tx.message.delete({ where: { id: msg.id } });
        if (msg.senderUserId) await charge(tx, msg.senderUserId, -msg.size);
        return msg.blobs.map((b) => b.id);
      });
      await this.blobs.delete(blobIds);
      gone++;
    }
    if (gone) this.logger.info({ copies: gone }, 'outbound: expired link copies deleted');
    return gone;
  }

  /** Queues every message with a recipient due now (by this relay's clock), and expires links. Answers how many were queued. */
  async sweep(): Promise<number> {
    await this.expireLinks();
    const due = await this.db.$queryRaw<{ message_id: string }[]>`
      SELECT DISTINCT message_id FROM outbound_deliveries
      WHERE (status = 'queued' AND next_attempt_at <= ${this.now()} AND (lease_until IS NULL OR lease_until < now()))
         OR (status IN ('failed', 'cancelled') AND bounced_at IS NULL AND (lease_until IS NULL OR lease_until < now()))
      LIMIT 500`;
    for (const d of due) await this.enqueue(d.message_id);
    return due.length;
  }

  /** Admin: try one delivery again now. False when it cannot be (final and no longer readable). */
  async retryNow(deliveryId: string): Promise<boolean> {
    const d = await this.db.outboundDelivery.findUnique({ where: { id: deliveryId }, include: { message: { select: { serverBox: true } }, link: { select: { secretBox: true } } } });
    if (!d) return false;
    const readable = d.linkId ? d.link?.secretBox != null : d.message.serverBox != null;
    if (d.status === 'delivered' || !readable) return false;
    await this.db.outboundDelivery.update({ where: { id: d.id }, data: { status: 'queued', nextAttemptAt: this.now(), bouncedAt: d.status === 'queued' ? d.bouncedAt : null, updatedAt: this.now() } });
    await this.enqueue(d.messageId);
    return true;
  }

  /** Admin: stop a queued delivery; the sender gets a report. False when it is not queued. */
  async cancel(deliveryId: string): Promise<boolean> {
    const n = await this.db.$executeRaw`
      UPDATE outbound_deliveries SET status = 'cancelled', last_error = 'cancelled by an administrator', updated_at = ${this.now()}
      WHERE id = ${deliveryId}::uuid AND status = 'queued' AND (lease_until IS NULL OR lease_until < now())`;
    if (n !== 1) return false;
    const d = await this.db.outboundDelivery.findUniqueOrThrow({ where: { id: deliveryId }, select: { messageId: true } });
    await this.enqueue(d.messageId);
    return true;
  }

  /** One attempt round for a message: its due recipients, then reports, then erasure. */
  async attempt(messageId: string): Promise<void> {
    const now = this.now();
    const claimed = await this.db.$queryRaw<Claimed[]>`
      UPDATE outbound_deliveries SET lease_until = clock_timestamp() + make_interval(secs => ${this.leaseSeconds})
      WHERE message_id = ${messageId}::uuid AND status = 'queued' AND next_attempt_at <= ${now} AND (lease_until IS NULL OR lease_until < now())
      RETURNING id, lease_until::text AS lease, recipient, attempts, created_at, link_id`;
    const lease = new Lease(this.db, claimed, this.leaseSeconds, this.logger);
    const owed = await this.db.outboundDelivery.findMany({ where: { messageId, status: { in: ['failed', 'cancelled'] }, bouncedAt: null, OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }] } });
    if (!claimed.length && !owed.length) return this.finish(messageId);

    const msg = await this.db.message.findUnique({ where: { id: messageId }, include: { blobs: { orderBy: { pieceIndex: 'asc' } }, links: true } });
    if (!msg) return;
    let content: Content | null = null;
    const failures: (DsnRecipient & { id: string })[] = owed.map((d) => ({
      id: d.id,
      address: d.recipient,
      status: d.status === 'cancelled' ? '5.0.0' : statusOfReply(undefined, d.lastError ?? ''),
      diagnostic: `x-sealmail; ${d.lastError ?? 'failed'}`,
      lastAttempt: d.updatedAt,
    }));
    try {
      content = await this.openContent(msg).catch((err: unknown) => {
        this.logger.error({ messageId, err: (err as Error).message }, 'outbound: content cannot be opened');
        return null;
      });
      if (claimed.length) {
        // Without content: erased boxes fail for good; a box this process cannot open (another
        // process's server key: a configuration error) is retried rather than failed.
        const gone = msg.links.length ? msg.links.every((l) => !l.secretBox) : !msg.serverBox;
        const outcomes = content
          ? await this.sendAll(msg.senderAddress, claimed, content.mail, lease)
          : new Map(claimed.map((c): [string, Outcome] => [c.id, gone ? { status: 'failed', error: 'the message can no longer be opened by the server' } : { status: 'queued', error: 'the server key of this process does not open the message' }]));
        for (const c of claimed) {
          // No outcome: the lease was lost before its send (another worker has it now).
          const got = outcomes.get(c.id);
          if (!got) continue;
          let o = got;
          const attempts = c.attempts + 1;
          if (o.status === 'queued' && now.getTime() >= c.created_at.getTime() + this.schedule.lifetimeSeconds * 1000) {
            o = { ...o, status: 'failed', error: `gave up after ${Math.round(this.schedule.lifetimeSeconds / 3600)} hours in the queue; last error: ${o.error ?? 'none'}` };
          }
          const next = new Date(now.getTime() + retryDelaySeconds(attempts, this.schedule) * 1000);
          // Settled only under this worker's own lease; a row it lost is another worker's now.
          if (!(await lease.settle(c.id, { status: o.status, attempts, lastError: o.error?.slice(0, 500) ?? null, nextAttemptAt: o.status === 'queued' ? next : now, updatedAt: now }))) continue;
          if (o.status === 'failed') {
            const expired = o.error?.startsWith('gave up') ?? false;
            failures.push({
              id: c.id,
              address: c.recipient,
              status: expired ? '4.4.7' : statusOfReply(o.code, o.error ?? ''),
              diagnostic: o.code !== undefined ? `smtp; ${o.error ?? o.code}` : `x-sealmail; ${o.error ?? 'failed'}`,
              ...(o.host ? { remoteMta: o.host } : {}),
              lastAttempt: now,
            });
          }
          this.logger.info({ messageId, delivery: c.id, status: o.status, attempts }, 'outbound: attempt');
        }
      }
      if (failures.length) await this.bounce(msg, failures, content?.headers ?? '');
    } finally {
      content?.wipe();
      // Rows this round claimed but did not settle (an unexpected error) are free for the next one.
      await lease.release();
    }
    await this.finish(messageId);
  }

  /**
   * When no recipient is queued any more, the server forgets how to read the message; a copy that
   * existed only to be relayed (a list's mail for its outside members: no mailbox holds it, no
   * link points at it) goes altogether once every report it owes is out.
   */
  private async finish(messageId: string): Promise<void> {
    if (await this.db.outboundDelivery.count({ where: { messageId, OR: [{ status: 'queued' }, { status: { in: ['failed', 'cancelled'] }, bouncedAt: null }] } })) return;
    await this.db.message.updateMany({ where: { id: messageId, serverBox: { not: null } }, data: { serverBox: null } });
    await this.db.mailLink.updateMany({ where: { messageId, secretBox: { not: null } }, data: { secretBox: null } });
    const orphan = await this.db.message.findFirst({ where: { id: messageId, entries: { none: {} }, heldEntries: { none: {} }, links: { none: {} } }, select: { id: true, blobs: { select: { id: true } } } });
    if (orphan) {
      await this.db.message.deleteMany({ where: { id: orphan.id } });
      await this.blobs.delete(orphan.blobs.map((b) => b.id));
    }
  }

  /**
   * Reports failures to a local sender (never to outside addresses: no backscatter). A report may
   * take the sender's mailbox a little past its quota (REPORT_ALLOWANCE_BYTES); one that does not
   * fit even so, or can never be delivered, is given up (logged), not tried again every sweep.
   */
  private async bounce(msg: { id: string; senderUserId: string | null; senderAddress: string; sentAt: Date }, failures: (DsnRecipient & { id: string })[], headers: string): Promise<void> {
    const ids = failures.map((f) => f.id);
    if (msg.senderUserId) {
      const dsn = buildDsn({ reportingMta: this.opts.hostname, sender: msg.senderAddress, arrivalDate: msg.sentAt, recipients: failures, originalHeaders: headers, now: this.now() });
      try {
        await deliverLocal({ db: this.db, blobs: this.blobs, hostname: this.opts.hostname, now: this.now, logger: this.logger }, dsn, {
          mailFrom: '',
          recipients: [{ address: msg.senderAddress, userId: msg.senderUserId, allowance: REPORT_ALLOWANCE_BYTES }],
        });
      } catch (err) {
        if (!(err instanceof LocalDeliveryError && (err.permanent || err.reason === 'mailbox-full'))) {
          // Not marked: the next sweep tries the report again (the database was away, say).
          this.logger.warn({ messageId: msg.id, err: (err as Error).message }, 'outbound: report not delivered');
          return;
        }
        this.logger.warn({ messageId: msg.id, sender: msg.senderAddress, reason: err.reason }, 'outbound: report given up (it can never be stored: the mailbox is full past its report allowance, say)');
      } finally {
        dsn.fill(0);
      }
    }
    await this.db.outboundDelivery.updateMany({ where: { id: { in: ids } }, data: { bouncedAt: this.now() } });
  }

  /** Opens what this message's outside recipients get, in memory. */
  private async openContent(msg: {
    id: string;
    envelope: Uint8Array;
    manifest: Uint8Array;
    body: Uint8Array;
    serverBox: Uint8Array | null;
    senderAddress: string;
    sentAt: Date;
    blobs: { id: string; parts: number }[];
    links: { id: string; recipient: string; secretBox: Uint8Array | null; expiresAt: Date }[];
  }): Promise<Content> {
    if (msg.links.length) return this.linkNotice(msg);
    if (!msg.serverBox) throw new Error('no server box');
    const key = this.opts.serverKey;
    const { messageKey } = openServerBox({ envelope: msg.envelope, box: msg.serverBox, serverPublicKey: key.publicKey, serverSecretKey: key.secretKey });
    const manifest = await openManifest({ envelope: decodeEnvelope(msg.envelope), manifest: msg.manifest, messageKey });
    messageKey.fill(0);
    const body = await openMailPiece({ manifest, index: 0, ciphertext: msg.body });
    const mime = await parseMime(body);
    const files: Buffer[] = [];
    for (const [i, b] of msg.blobs.entries()) {
      const parts: Uint8Array[] = [];
      for await (const p of this.blobs.read(b.id, b.parts)) parts.push(p);
      files.push(Buffer.from(await openMailPiece({ manifest, index: i + 1, ciphertext: Buffer.concat(parts) })));
    }
    const mail: SendMailOptions = {
      from: mime.from ? { name: mime.from.name, address: msg.senderAddress } : msg.senderAddress,
      to: mime.to,
      cc: mime.cc,
      subject: mime.subject,
      text: mime.text,
      ...(mime.html ? { html: mime.html } : {}),
      date: mime.date ? new Date(mime.date) : msg.sentAt,
      ...(mime.messageId ? { messageId: `<${mime.messageId}>` } : {}),
      ...(mime.inReplyTo ? { inReplyTo: `<${mime.inReplyTo}>` } : {}),
      ...(mime.references.length ? { references: mime.references.map((r) => `<${r}>`) } : {}),
      headers: [
        // An automatic reply says so to the world (RFC 3834 §5), so it is never answered in turn.
        ...(mime.autoSubmitted && /^[\w.;= -]{1,100}$/.test(mime.autoSubmitted) ? [{ key: 'Auto-Submitted', value: mime.autoSubmitted }] : []),
        // The relays a list copy or a forward came through (loop-marks.ts), so a host that sends it
        // back, or our own list it names, does not relay it again.
        ...loopMarksIn(headerSectionOf(body)).map((m) => ({ key: LOOP_HEADER, value: m })),
        // A list's copy names its list (RFC 2369, RFC 2919) and says it is list mail, so outside
        // members' filters and auto-responders treat it so.
        ...listFieldsIn(headerSectionOf(body)),
      ],
      // An inline image keeps its Content-ID: nodemailer puts it in a multipart/related with the HTML.
      attachments: mime.attachments.map((a, i) => ({ filename: a.filename, contentType: a.contentType, content: files[a.piece - 1] ?? files[i]!, ...(a.contentId ? { cid: a.contentId } : {}) })),
    };
    withIcalEvent(mail);
    return {
      mail,
      headers: await headerBlock(mail),
      wipe: () => {
        body.fill(0);
        for (const f of files) f.fill(0);
      },
    };
  }

  /** The notice an outside recipient of an expiring link gets: who sent it, the link, the expiry. */
  private async linkNotice(msg: { envelope: Uint8Array; senderAddress: string; sentAt: Date; links: { id: string; recipient: string; secretBox: Uint8Array | null; expiresAt: Date }[] }): Promise<Content> {
    const viewer = (this.opts.viewerUrl ?? `https://${this.opts.hostname}`).replace(/\/+$/, '');
    const digest = toBase64Url(passwordDigest(msg.envelope));
    const perRecipient = new Map<string, { url: string; expiresAt: Date }>();
    for (const l of msg.links) {
      if (!l.secretBox) continue;
      const password = openLinkSecret({ box: l.secretBox, serverSecretKey: this.opts.serverKey.secretKey, linkId: l.id });
      perRecipient.set(l.recipient.toLowerCase(), { url: `${viewer}/m/${l.id}#${password}.${digest}`, expiresAt: l.expiresAt });
    }
    // One notice per recipient (each has its own link): sendAll asks for the content per recipient.
    const mail: SendMailOptions & { perRecipient: typeof perRecipient } = {
      from: msg.senderAddress,
      subject: `${msg.senderAddress} sent you a protected message`,
      date: msg.sentAt,
      perRecipient,
    };
    return { mail, headers: await headerBlock({ from: msg.senderAddress, subject: mail.subject, date: msg.sentAt }), wipe: () => perRecipient.clear() };
  }

  /** Delivers to every claimed recipient, grouped by domain (one notice each for links). */
  private async sendAll(from: string, claimed: Claimed[], content: SendMailOptions, lease: Lease): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    const dkim = await this.opts.dkim(from.split('@')[1]!);
    const perRecipient = (content as { perRecipient?: Map<string, { url: string; expiresAt: Date }> }).perRecipient;
    const groups: { domain: string; rows: Claimed[]; mail: SendMailOptions }[] = [];
    if (perRecipient) {
      for (const c of claimed) {
        const link = perRecipient.get(c.recipient.toLowerCase());
        if (!link) {
          outcomes.set(c.id, { status: 'failed', error: 'the link can no longer be sent (its password was erased)' });
          continue;
        }
        const { perRecipient: _omit, ...base } = content as SendMailOptions & { perRecipient?: unknown };
        void _omit;
        groups.push({ domain: c.recipient.split('@')[1]!, rows: [c], mail: { ...base, to: c.recipient, ...noticeBody(from, link.url, link.expiresAt) } });
      }
    } else {
      const byDomain = new Map<string, Claimed[]>();
      for (const c of claimed) {
        const posted = this.opts.postToList ? await this.postToList(c.recipient, from, content).catch((err: unknown) => ({ error: (err as Error).message })) : null;
        if (!posted) {
          byDomain.set(c.recipient.split('@')[1]!, [...(byDomain.get(c.recipient.split('@')[1]!) ?? []), c]);
          continue;
        }
        outcomes.set(c.id, 'error' in posted ? { status: 'queued', error: posted.error } : { status: 'delivered', error: null });
      }
      for (const [domain, rows] of byDomain) groups.push({ domain, rows, mail: content });
    }
    for (const g of groups) {
      // Sent only while this worker's lease on the rows is live (renewed now, for the send).
      g.rows = await lease.keep(g.rows);
      if (!g.rows.length) continue;
      try {
        const rejected = await this.sendTo(g.domain, g.rows.map((r) => r.recipient), from, g.mail, dkim);
        for (const r of g.rows) {
          const x = rejected.get(r.recipient.toLowerCase());
          outcomes.set(r.id, !x ? { status: 'delivered', error: null } : { status: x.code >= 500 ? 'failed' : 'queued', error: x.message, code: x.code, host: x.host });
        }
      } catch (err) {
        const permanent = err instanceof Permanent;
        for (const r of g.rows) {
          outcomes.set(r.id, { status: permanent ? 'failed' : 'queued', error: (err as Error).message, ...(permanent ? { code: err.code, host: err.host } : {}) });
        }
        this.logger.info({ domain: g.domain, permanent }, 'outbound: delivery failed');
      }
    }
    return outcomes;
  }

  /** Expands a message to one of this server's lists (the postToList hook); null: no list here. */
  private async postToList(address: string, from: string, content: SendMailOptions): Promise<{ messageId: string } | null> {
    const raw = await new MailComposer(content).compile().build();
    try {
      const posted = await this.opts.postToList!(address, raw, from);
      if (posted?.messageId) await this.enqueue(posted.messageId);
      return posted;
    } finally {
      raw.fill(0);
    }
  }

  /** Delivers to one domain's MX; answers the recipients the remote refused (the rest have it). */
  private async sendTo(domain: string, rcpt: string[], from: string, content: SendMailOptions, dkim: DkimKey): Promise<Map<string, { code: number; message: string; host: string }>> {
    const { hosts: tried, policy, mxSecure } = await this.routeOf(domain);
    let last: unknown = new Error(`no mail host for ${domain}`);
    // The relay's own trace field (RFC 5321 §4.4): first in the header, not covered by DKIM.
    const received = `by ${this.opts.hostname} (Sealmail) with ESMTP id ${randomBytes(6).toString('hex')}${rcpt.length === 1 ? ` for <${rcpt[0]}>` : ''}; ${this.now().toUTCString().replace('GMT', '+0000')}`;
    const raw = await new MailComposer({ ...content, headers: [{ key: 'Received', value: received }, ...headerList(content.headers)] }).compile().build();
    try {
      // How each host ended when it was not used: all its addresses private, or none at all.
      let privateHosts = 0;
      let addressless = 0;
      let budget = MX_ADDRESSES_PER_ATTEMPT;
      // Whether `last` came from a host that was reached (it answered, or showed a certificate):
      // a later address that cannot be reached at all does not hide what that host said.
      let lastReached = false;
      for (const h of tried) {
        if (budget <= 0) break;
        const name = h.exchange.replace(/\.$/, '');
        let addresses: string[];
        try {
          addresses = await this.addressesOf(name);
        } catch (err) {
          // A failing resolver (SERVFAIL, a time-out): the next host, and a later attempt.
          if (!lastReached) last = new Error(`4.4.3 the address of mail host ${name} could not be looked up (${(err as Error).message})`);
          continue;
        }
        if (!addresses.length) {
          addressless++;
          if (!lastReached) last = new Error(`4.4.4 mail host ${name} of ${domain} has no address`);
          continue;
        }
        // Checked here, on the addresses the connection will use (not on the name): an MX named
        // `localhost`, or a name resolving into 10.0.0.0/8, is no way into the server's network.
        const usable = this.opts.allowPrivateTargets ? addresses : addresses.filter((a) => !isPrivateAddress(a));
        if (!usable.length) {
          privateHosts++;
          this.logger.warn({ domain, host: name, addresses }, 'outbound: MX host has only loopback or private addresses; skipped');
          if (!lastReached) last = new Permanent(`5.7.1 mail host ${name} of ${domain} has no public address; this server does not deliver to loopback or private addresses`, 550, domain);
          continue;
        }
        // DANE (RFC 7672) first: with validated TLSA records TLS is required and the certificate
        // must match them; otherwise MTA-STS enforce asks for a certificate valid for the MX name.
        // Both judge the MX name, whatever address it was reached at.
        const dane = this.opts.dnssec ? await daneFor(this.opts.dnssec, h.exchange, mxSecure) : { mode: 'none' as const };
        const sts = stsTransportOptions(dane.mode === 'none' ? policy : null, h.exchange, this.opts.tls);
        const verified = dane.mode !== 'none' || policy?.mode === 'enforce';
        const tls = dane.mode === 'none' ? sts.tls : { ...sts.tls, rejectUnauthorized: false };
        const checkTls = dane.mode === 'verify' ? (socket: TLSSocket) => void verifyDane(peerChain(socket), dane.records, [name, domain], this.now()) : undefined;
        hostLoop: for (const address of usable) {
          if (budget-- <= 0) break;
          // Opportunistic STARTTLS (RFC 7435): a failed handshake is tried once more in plaintext,
          // as Postfix does at security level "may"; under DANE or an enforced policy it is not.
          for (const plaintext of verified ? [false] : [false, true]) {
            try {
              const sent = await deliverToHost(
                {
                  // The checked address itself; the name only for SNI and the certificate.
                  host: address,
                  ...(isIP(name) ? {} : { servername: name }),
                  port: this.opts.port ?? 25,
                  name: this.opts.hostname,
                  requireTLS: verified || sts.requireTLS,
                  ignoreTLS: plaintext,
                  tls,
                  ...(checkTls ? { checkTls } : {}),
                  dkim: { domainName: dkim.domain, keySelector: dkim.selector, privateKey: dkim.privateKey },
                },
                { from, to: rcpt },
                raw,
              );
              if (plaintext) this.logger.warn({ domain, host: name, address }, 'outbound: delivered without TLS after a failed STARTTLS handshake');
              if (dane.mode !== 'none') this.logger.info({ domain, host: name, dane: dane.mode }, 'outbound: delivered under DANE');
              return new Map([...sent.refused].map(([r, e]) => [r, { ...e, host: h.exchange }]));
            } catch (err) {
              const e = err as { responseCode?: number; response?: string; message: string };
              const reached = e.responseCode !== undefined || err instanceof DaneMismatch || isStsDeliveryFailure(err);
              if (reached || !lastReached) [last, lastReached] = [err, reached];
              if (err instanceof DaneMismatch) this.logger.warn({ domain, host: name, reason: err.message }, 'outbound: certificate does not match the DANE TLSA records');
              if (!verified && !plaintext && isStsDeliveryFailure(err) && e.responseCode === undefined) continue;
              // A host that refuses the session at its greeting (554 "no SMTP service here", 421)
              // speaks for itself, not for the mail: the next MX host is tried (RFC 5321 §5.1,
              // Postfix's smtp_skip_5xx_greeting). When every host does, the mail stays queued.
              if (isGreetingRefusal(err)) {
                this.logger.info({ domain, host: name, address, reply: e.response }, 'outbound: mail host refused the session at its greeting; trying the next one');
                break hostLoop;
              }
              // A TLS failure under DANE or an enforced policy is not the remote's final word: retried (RFC 8461 §5, RFC 7672 §2.2).
              if (e.responseCode !== undefined && e.responseCode >= 500 && !(verified && isStsDeliveryFailure(err))) throw new Permanent(e.response ?? e.message, e.responseCode, h.exchange);
              // The host answered (a 4xx): its other addresses would say the same; the next host.
              if (e.responseCode !== undefined) break hostLoop;
              // No answer at all (refused, timed out): this host's next address.
              break;
            }
          }
        }
      }
      // Nowhere to connect to: every host was private (final, 5.7.1), or the domain itself, for
      // want of an MX, has no address (final, 5.4.4). Other cases stay queued (DNS may recover).
      if (tried.length && privateHosts === tried.length) throw new Permanent(`5.7.1 no public address: every mail host of ${domain} is a loopback or private address; this server does not deliver there`, 550, domain);
      if (tried.length === 1 && tried[0]!.implicit && addressless === 1) throw new Permanent(`5.4.4 the domain ${domain} has no MX record and no address`, 550, domain);
      if (last instanceof Permanent) last = new Error(`4.4.1 no mail host of ${domain} could be reached (${last.message})`);
    } finally {
      raw.fill(0);
    }
    throw last;
  }

  /**
   * The hosts to try for a domain, in order, and the MTA-STS policy that applies. Final answers
   * come back at once as `Permanent` (the sender gets a report now, not in five days): a domain
   * that does not exist (NXDOMAIN), a null MX (RFC 7505), an IP address without brackets, or a
   * loopback/private target the relay is not configured to reach. (MX hosts named by a name are
   * checked on their addresses, when sendTo resolves them.)
   */
  private async routeOf(domain: string): Promise<{ hosts: MailHost[]; policy: Awaited<ReturnType<MtaSts['policyFor']>>; mxSecure: boolean }> {
    let literal: string | null;
    try {
      literal = addressLiteral(domain);
    } catch (err) {
      throw new Permanent((err as Error).message, 550, domain);
    }
    if (literal) {
      if (isPrivateAddress(literal) && !this.opts.allowPrivateTargets) throw new Permanent(`5.7.1 ${literal} is a loopback or private address; this server does not deliver there`, 550, domain);
      return { hosts: [{ exchange: literal, priority: 0 }], policy: null, mxSecure: false };
    }
    let hosts: MailHost[];
    try {
      const resolver = this.opts.resolver;
      hosts = await (this.opts.resolveMx ?? (resolver ? async (d: string) => (await resolver(d, 'MX')) as MxAnswer[] : dnsResolveMx))(domain);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'NXDOMAIN') throw new Permanent(`5.1.2 the domain ${domain} does not exist`, 550, domain);
      if (code === 'ENODATA') hosts = [{ exchange: domain, priority: 0, implicit: true }]; // RFC 5321 §5.1: implicit MX
      else throw err;
    }
    const isNull = (h: { exchange: string }) => h.exchange === '' || h.exchange === '.';
    if (hosts.length && hosts.every(isNull)) throw new Permanent(`5.1.10 the domain ${domain} accepts no mail (null MX, RFC 7505)`, 556, domain);
    hosts = hosts.filter((h) => !isNull(h)).sort((a, b) => a.priority - b.priority);
    const reachable = hosts.filter((h) => this.opts.allowPrivateTargets || !isIP(h.exchange) || !isPrivateAddress(h.exchange));
    if (hosts.length && !reachable.length) throw new Permanent(`5.7.1 every mail host of ${domain} is a loopback or private address; this server does not deliver there`, 550, domain);
    // MTA-STS (RFC 8461): in enforce mode only the policy's MX hosts, over verified TLS.
    const policy = await this.mtaSts.policyFor(domain);
    const { hosts: tried, refused } = filterMxByPolicy(policy, reachable);
    if (refused.length) this.logger.warn({ domain, mode: policy?.mode, policyId: policy?.id, refused: refused.map((h) => h.exchange) }, 'outbound: MX not in MTA-STS policy');
    if (!tried.length) throw new Error(`no MX host of ${domain} matches its MTA-STS policy (id ${policy?.id})`);
    // At most MX_HOSTS_PER_ATTEMPT hosts an attempt, the most preferred first (Postfix's
    // smtp_mx_address_limit): a domain listing forty names made the relay connect to all forty
    // on every retry — a reflection anyone who gets mail from us could aim at a third party.
    return { hosts: tried.slice(0, MX_HOSTS_PER_ATTEMPT), policy, mxSecure: await this.mxSecure(domain) };
  }

  /**
   * The addresses of a mail host, IPv4 first (see `resolveAddresses`). An address literal is its
   * own; `localhost` and `*.localhost` are loopback (RFC 6761 §6.3), whatever DNS would say.
   * Empty when the name has none; throws when the resolver fails (SERVFAIL, a time-out).
   */
  private async addressesOf(host: string): Promise<string[]> {
    const name = host.replace(/\.$/, '').toLowerCase();
    if (isIP(name)) return [name];
    if (name === 'localhost' || name.endsWith('.localhost')) return ['127.0.0.1', '::1'];
    if (this.opts.resolveAddresses) return this.opts.resolveAddresses(name);
    const resolver = this.opts.resolver ?? systemResolver;
    const [v4, v6] = await Promise.all([lookupNames(resolver, name, 'A'), lookupNames(resolver, name, 'AAAA')]);
    return [...v4, ...v6].filter((a) => isIP(a));
  }

  /**
   * Whether the domain's MX answer is DNSSEC-validated (DANE applies only then, RFC 7672 §2.2.1).
   * A DNSSEC lookup that fails where the ordinary one answered is taken as "not validated": a
   * resolver that chokes on EDNS must not stop all outbound mail. (A bogus signature fails the
   * ordinary lookup too, and that is retried.)
   */
  private async mxSecure(domain: string): Promise<boolean> {
    if (!this.opts.dnssec) return false;
    try {
      return (await this.opts.dnssec.mx(domain)).secure;
    } catch (err) {
      this.logger.warn({ domain, err: (err as Error).message }, 'outbound: DNSSEC lookup of MX failed; DANE not applied');
      return false;
    }
  }
}

/** Loopback, private, link-local, CGNAT, unspecified and documentation ranges: never a remote MX. */
const PRIVATE = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['192.0.0.0', 24], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an IP address is one the relay must not connect to unless configured to. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return PRIVATE.check(ip, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? PRIVATE.check(mapped[1]!, 'ipv4') : PRIVATE.check(ip, 'ipv6');
}

/**
 * Where mail for a recipient domain goes, before any DNS: an address literal in brackets
 * (`[192.0.2.1]`, `[IPv6:2001:db8::1]`, RFC 5321 §4.1.3) is its own host; an IP address without
 * brackets is not a domain at all. Answers null for an ordinary domain name.
 * @throws Error (message with the enhanced status) for a malformed or unbracketed literal.
 */
export function addressLiteral(domain: string): string | null {
  const m = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
  if (m) {
    if (!isIP(m[1]!)) throw new Error(`5.1.2 ${domain} is not a valid address literal`);
    return m[1]!;
  }
  if (isIP(domain)) throw new Error(`5.1.2 an IP address as a mail domain must be written in brackets ([${domain}])`);
  return null;
}

/** A message's own extra header fields as a list (so the relay's Received field can go first). */
/** The List-Id and List-Post fields of a sealed body's header section, and Precedence: list when there are any. */
function listFieldsIn(headerSection: string): { key: string; value: string }[] {
  const unfolded = headerSection.replace(/\r?\n[ \t]+/g, ' ');
  const out: { key: string; value: string }[] = [];
  // As they were sealed (already encoded where needed): nodemailer must not encode them again.
  const prepared = (value: string) => ({ prepared: true, value }) as unknown as string;
  for (const m of unfolded.matchAll(/^(list-id|list-post):[ \t]*([^\r\n]{1,500})$/gim)) out.push({ key: m[1]!.toLowerCase() === 'list-id' ? 'List-Id' : 'List-Post', value: prepared(m[2]!.trim()) });
  return out.length ? [...out, { key: 'Precedence', value: 'list' }] : out;
}

function headerList(headers: SendMailOptions['headers']): { key: string; value: string }[] {
  if (!headers) return [];
  // A prepared value ({ prepared, value }, listFieldsIn) passes through as it is.
  if (Array.isArray(headers)) return headers.map((h) => ({ key: h.key, value: typeof h.value === 'string' ? h.value : (h.value as unknown as string) }));
  return Object.entries(headers).flatMap(([key, v]) => (Array.isArray(v) ? v : [v]).map((value) => ({ key, value: typeof value === 'string' ? value : String((value as { value: unknown }).value) })));
}

/** The header block of a message as the relay would send it (for reports; no body). */
/**
 * An invitation (docs/calendar.md "Invitations") leaves as iMIP wants it (RFC 6047 §2.4): its
 * iCalendar part goes back beside the text as `text/calendar; method=…` in a multipart/alternative
 * (nodemailer's icalEvent), not as a plain attachment (stored mail keeps it as one).
 */
function withIcalEvent(mail: SendMailOptions): void {
  const list = (mail.attachments ?? []) as { filename?: string; contentType?: string; content: Buffer }[];
  const cal = list.find((a) => a.contentType?.toLowerCase() === 'text/calendar');
  if (!cal) return;
  let method: string | null;
  try {
    method = String(new ICAL.Component(ICAL.parse(cal.content.toString('utf8')) as unknown[]).getFirstPropertyValue('method') ?? '') || null;
  } catch {
    return;
  }
  if (!method) return;
  mail.icalEvent = { method: method.toUpperCase(), filename: cal.filename ?? 'invite.ics', content: cal.content.toString('utf8') };
  // nodemailer adds the .ics attachment itself; the stored copies of it are dropped.
  mail.attachments = list.filter((a) => !['text/calendar', 'application/ics'].includes(a.contentType?.toLowerCase() ?? ''));
}

async function headerBlock(mail: SendMailOptions): Promise<string> {
  const node = new MailComposer({ ...mail, attachments: [], text: '', html: undefined }).compile();
  return (node as unknown as { buildHeaders(): string }).buildHeaders();
}

/** Text and HTML of a link notice. */
function noticeBody(from: string, url: string, expiresAt: Date): { text: string; html: string } {
  const when = expiresAt.toUTCString();
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return {
    text: [
      `${from} sent you a protected message.`,
      '',
      'Open it in your browser (the key is in the part of the link after #, which is never sent to our server):',
      url,
      '',
      `The link works until ${when}.`,
    ].join('\n'),
    html: `<p>${esc(from)} sent you a protected message.</p><p><a href="${esc(url)}">Open the message</a></p><p>The link works until ${esc(when)}. The key is in the part of the link after #, which your browser never sends to our server.</p>`,
  };
}

/**
 * One attempt's hold on the deliveries it claimed (see the file comment): renewed every third of
 * the lease while the attempt runs, checked (and renewed) before each send, and given up at the
 * end. The expiry Postgres wrote is the token: every statement matches it exactly.
 */
class Lease {
  private readonly tokens = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    claimed: readonly Claimed[],
    private readonly seconds: number,
    private readonly logger: Logger,
  ) {
    for (const c of claimed) this.tokens.set(c.id, c.lease);
    if (claimed.length) {
      this.timer = setInterval(() => void this.renew().catch((err: unknown) => this.logger.warn({ err }, 'outbound: lease not renewed')), (seconds * 1000) / 3);
      this.timer.unref();
    }
  }

  /** Extends the lease of every row still held; a row whose token no longer matches is lost. */
  private renew(): Promise<void> {
    const run = this.chain.then(async () => {
      for (const [id, token] of [...this.tokens]) {
        const rows = await this.db.$queryRaw<{ lease: string }[]>`
          UPDATE outbound_deliveries SET lease_until = clock_timestamp() + make_interval(secs => ${this.seconds})
          WHERE id = ${id}::uuid AND lease_until = ${token}::timestamptz AND lease_until > now()
          RETURNING lease_until::text AS lease`;
        if (rows[0]) this.tokens.set(id, rows[0].lease);
        else {
          this.tokens.delete(id);
          this.logger.warn({ delivery: id }, 'outbound: lease lost; another worker has the delivery');
        }
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The rows of `rows` this worker still holds, with their lease renewed for a send. */
  async keep<T extends { id: string }>(rows: T[]): Promise<T[]> {
    await this.renew();
    return rows.filter((r) => this.tokens.has(r.id));
  }

  /** Writes a delivery's outcome and frees it, if this worker still holds it. */
  async settle(id: string, data: { status: string; attempts: number; lastError: string | null; nextAttemptAt: Date; updatedAt: Date }): Promise<boolean> {
    await this.chain;
    const token = this.tokens.get(id);
    if (token === undefined) return false;
    const n = await this.db.$executeRaw`
      UPDATE outbound_deliveries SET status = ${data.status}::delivery_status, attempts = ${data.attempts}, last_error = ${data.lastError}, next_attempt_at = ${data.nextAttemptAt}, lease_until = NULL, updated_at = ${data.updatedAt}
      WHERE id = ${id}::uuid AND lease_until = ${token}::timestamptz`;
    this.tokens.delete(id);
    return n === 1;
  }

  /** Stops renewing and frees what is still held (rows not settled: the next round takes them). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
    for (const [id, token] of this.tokens) await this.db.$executeRaw`UPDATE outbound_deliveries SET lease_until = NULL WHERE id = ${id}::uuid AND lease_until = ${token}::timestamptz`;
    this.tokens.clear();
  }
}
