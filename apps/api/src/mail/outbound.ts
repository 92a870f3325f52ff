/**
 * The outbound relay: standard mail to recipients outside this server (MISSION §3, docs/mail.md
 * §9). A job per message in a Postgres queue (pg-boss: survives restarts, retried with back-off,
 * one worker per job at a time). The worker opens the message with the server box the sender's
 * client added, rebuilds the MIME message in memory, DKIM-signs it with the sender domain's key,
 * looks up each recipient domain's MX and delivers over SMTP (STARTTLS when offered). 5xx fails a
 * recipient for good; 4xx and connection failures are retried. Once every outside recipient is
 * final, the server box is erased: the server can no longer read the message.
 */
import { resolveMx as dnsResolveMx } from 'node:dns/promises';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import PgBoss from 'pg-boss';
import { parseMime } from '@sealmail/client/identity';
import { decodeEnvelope, openMailPiece, openManifest, openServerBox } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import type { BlobStore, DkimKey, ServerMailKey } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';

export interface OutboundOptions {
  /** Postgres for the job queue (pg-boss keeps its tables in the `pgboss` schema). */
  connectionString: string;
  serverKey: ServerMailKey;
  dkim: (domain: string) => Promise<DkimKey>;
  /** This server's name in EHLO. */
  hostname: string;
  /** MX lookup; tests answer from a table pointing at loopback (the only stand-in for the outside). */
  resolveMx?: (domain: string) => Promise<{ exchange: string; priority: number }[]>;
  /** SMTP port of remote MX hosts (25; tests use a loopback port). */
  port?: number;
  /** Trust for remote STARTTLS certificates (tests trust their own CA). */
  tls?: { ca?: string; rejectUnauthorized?: boolean };
  retry?: { limit: number; delaySeconds: number; backoff: boolean };
}

const QUEUE = 'outbound';

/** A remote answer that will not change on retry. */
class Permanent extends Error {}

export class Outbound {
  private boss: PgBoss | null = null;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
    readonly opts: OutboundOptions,
  ) {}

  async start(): Promise<void> {
    const boss = new PgBoss({ connectionString: this.opts.connectionString, max: 4 });
    boss.on('error', (err) => this.logger.warn({ err }, 'outbound queue'));
    await boss.start();
    await boss.createQueue(QUEUE);
    await boss.work<{ messageId: string }>(QUEUE, { pollingIntervalSeconds: 1 }, async ([job]) => this.deliver(job!.data.messageId));
    this.boss = boss;
  }

  async stop(): Promise<void> {
    await this.boss?.stop({ graceful: true, timeout: 5000 });
    this.boss = null;
  }

  async enqueue(messageId: string): Promise<void> {
    if (!this.boss) throw new Error('outbound relay not started');
    const r = this.opts.retry ?? { limit: 30, delaySeconds: 300, backoff: true };
    await this.boss.send(QUEUE, { messageId }, { retryLimit: r.limit, retryDelay: r.delaySeconds, retryBackoff: r.backoff, expireInSeconds: 600 });
  }

  /** One attempt for every outside recipient of a message still queued. */
  private async deliver(messageId: string): Promise<void> {
    const msg = await this.db.message.findUnique({ where: { id: messageId }, include: { deliveries: { where: { status: 'queued' } }, blobs: { orderBy: { pieceIndex: 'asc' } } } });
    if (!msg || !msg.deliveries.length) return;
    if (!msg.serverBox) {
      await this.db.outboundDelivery.updateMany({ where: { messageId, status: 'queued' }, data: { status: 'failed', lastError: 'no server box' } });
      return;
    }
    // Open and rebuild in memory; every plaintext buffer is zeroed afterwards.
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
    const senderDomain = msg.senderAddress.split('@')[1]!;
    const dkim = await this.opts.dkim(senderDomain);
    const content = {
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
      attachments: mime.attachments.map((a, i) => ({ filename: a.filename, contentType: a.contentType, content: files[a.piece - 1] ?? files[i]! })),
    };
    let retry = false;
    try {
      const byDomain = new Map<string, typeof msg.deliveries>();
      for (const d of msg.deliveries) byDomain.set(d.recipient.split('@')[1]!, [...(byDomain.get(d.recipient.split('@')[1]!) ?? []), d]);
      for (const [domain, deliveries] of byDomain) {
        const ids = deliveries.map((d) => d.id);
        try {
          const rejected = await this.sendTo(domain, deliveries.map((d) => d.recipient), msg.senderAddress, content, dkim);
          for (const d of deliveries) {
            const r = rejected.get(d.recipient.toLowerCase());
            const status = !r ? 'delivered' : r.code >= 500 ? 'failed' : 'queued';
            if (status === 'queued') retry = true;
            await this.db.outboundDelivery.update({ where: { id: d.id }, data: { status, attempts: { increment: 1 }, lastError: r ? r.message.slice(0, 500) : null, updatedAt: new Date() } });
          }
        } catch (err) {
          const permanent = err instanceof Permanent;
          const text = (err as Error).message.slice(0, 500);
          await this.db.outboundDelivery.updateMany({ where: { id: { in: ids } }, data: { status: permanent ? 'failed' : 'queued', attempts: { increment: 1 }, lastError: text, updatedAt: new Date() } });
          this.logger.info({ messageId, domain, permanent }, 'outbound: delivery failed');
          if (!permanent) retry = true;
        }
      }
    } finally {
      body.fill(0);
      for (const f of files) f.fill(0);
    }
    if (retry) throw new Error('some recipients will be retried');
    // Every outside recipient is final: the server forgets how to read this message.
    await this.db.message.update({ where: { id: messageId }, data: { serverBox: null } });
  }

  /** Delivers to one domain's MX; answers the recipients the remote refused (the rest have it). */
  private async sendTo(domain: string, rcpt: string[], from: string, content: SendMailOptions, dkim: DkimKey): Promise<Map<string, { code: number; message: string }>> {
    let hosts: { exchange: string; priority: number }[];
    try {
      hosts = await (this.opts.resolveMx ?? dnsResolveMx)(domain);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') hosts = [{ exchange: domain, priority: 0 }]; // RFC 5321 §5.1: implicit MX
      else throw err;
    }
    hosts.sort((a, b) => a.priority - b.priority);
    let last: unknown = new Error(`no mail host for ${domain}`);
    for (const h of hosts) {
      const transport = nodemailer.createTransport({
        host: h.exchange,
        port: this.opts.port ?? 25,
        secure: false,
        name: this.opts.hostname,
        tls: { servername: h.exchange, ...(this.opts.tls ?? {}) },
        dkim: { domainName: dkim.domain, keySelector: dkim.selector, privateKey: dkim.privateKey },
        connectionTimeout: 30_000,
      });
      try {
        const info = await transport.sendMail({ ...content, envelope: { from, to: rcpt } });
        const rejected = new Map<string, { code: number; message: string }>();
        for (const e of (info as { rejectedErrors?: (Error & { recipient?: string; responseCode?: number })[] }).rejectedErrors ?? []) {
          if (e.recipient) rejected.set(e.recipient.toLowerCase(), { code: e.responseCode ?? 450, message: e.message });
        }
        return rejected;
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) throw new Permanent(`${h.exchange}: ${(err as Error).message}`);
        last = err;
      } finally {
        transport.close();
      }
    }
    throw last;
  }
}
