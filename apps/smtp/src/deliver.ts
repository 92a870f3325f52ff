/**
 * Delivering mail from outside (MISSION §3, docs/mail.md §7): authenticate it (SPF, DKIM, DMARC,
 * ARC with mailauth), parse it (mailparser), rebuild the body piece with the authentication
 * results inside, seal it — body and every attachment — to each recipient's newest per-user key,
 * and store it. All of that happens in memory; the caller answers 250 only after this returns, so
 * a message that got a 250 is committed to the database, and no plaintext is ever written
 * anywhere (the raw message, the parsed parts and the rebuilt body live in this process only).
 */
import { createHash, randomUUID } from 'node:crypto';
import { authenticate, type DNSResolver } from 'mailauth';
import { simpleParser, type AddressObject } from 'mailparser';
import { buildMime } from '@sealmail/client/identity';
import { mailLimits } from '@sealmail/contract';
import { createMailPieceEncryptor, sealMail, type ManifestPiece, type MailRecipientKey } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { newestPerUserKey, publishMailEvents, storeMessage, type BlobStore, type Holder } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';

/** An SMTP reply to give instead of 250. */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DeliverDeps {
  db: Db;
  blobs: BlobStore;
  logger: Logger;
  /** This server's name, for Authentication-Results and the message ids it makes. */
  hostname: string;
  now: () => Date;
  /** DNS for SPF/DKIM/DMARC; tests answer from a table (nothing outside this machine is asked). */
  resolver?: DNSResolver;
}

export interface InboundEnvelope {
  mailFrom: string;
  rcptTo: { address: string; userId: string }[];
  remoteAddress: string;
  clientHostname: string;
}

const flat = (a: AddressObject | AddressObject[] | undefined) => (a ? (Array.isArray(a) ? a : [a]) : []).flatMap((x) => x.value.map((v) => v.address ?? '').filter(Boolean));

/** Delivers one inbound message; resolves with the stored message id. @throws SmtpReply. */
export async function deliverInbound(deps: DeliverDeps, raw: Buffer, env: InboundEnvelope): Promise<{ messageId: string; entries: number }> {
  // 1. Authentication, on the raw bytes as they arrived. A message these parsers cannot read
  // (headers past their limits, broken structure) is refused for good: retrying cannot fix it.
  const malformed = (err: unknown): never => {
    deps.logger.info({ code: (err as { code?: string }).code }, 'smtp: malformed message');
    throw new SmtpReply(554, '5.6.0 The message could not be parsed (malformed MIME or headers too large)');
  };
  const auth = await authenticate(raw, {
    ip: env.remoteAddress,
    helo: env.clientHostname,
    sender: env.mailFrom,
    mta: deps.hostname,
    disableBimi: true,
    ...(deps.resolver ? { resolver: deps.resolver } : {}),
  }).catch(malformed);
  if (auth.dmarc && auth.dmarc.status?.result === 'fail' && auth.dmarc.policy === 'reject') {
    throw new SmtpReply(550, `5.7.1 Rejected by the sender domain's DMARC policy (${auth.dmarc.domain})`);
  }
  const authResults = auth.headers
    .split(/\r?\n(?=\S)/)
    .filter((l) => /^Authentication-Results:/i.test(l))
    .map((l) => l.replace(/^Authentication-Results:\s*/i, '').trim());

  // 2. Parse; refuse more than 25 MiB of decoded attachments.
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, keepCidLinks: true }).catch(malformed);
  const attachments = parsed.attachments.filter((a) => a.content?.length !== undefined);
  const attachmentBytes = attachments.reduce((n, a) => n + a.content.length, 0);
  if (attachmentBytes > mailLimits.attachmentBytes) throw new SmtpReply(552, '5.3.4 Attachments exceed 25 MiB; message refused');

  // 3. The recipients' keys (checked at RCPT; a chain may have changed since).
  const keys: MailRecipientKey[] = [];
  for (const r of env.rcptTo) {
    const k = await newestPerUserKey(deps.db, r.userId);
    if (!k) throw new SmtpReply(450, `4.2.1 Mailbox ${r.address} is not set up yet; try again later`);
    keys.push(k);
  }

  // 4. Attachments sealed as pieces and stored as blobs (owned by the first recipient).
  const mailId = `${randomUUID()}@${deps.hostname}`;
  const pieces: ManifestPiece[] = [];
  const blobIds: string[] = [];
  const blobSizes: bigint[] = [];
  try {
    for (const [i, a] of attachments.entries()) {
      const enc = await createMailPieceEncryptor({ messageId: mailId, index: i + 1, kind: 'attachment' });
      const first = await enc.push(a.content);
      const { last, piece } = await enc.final();
      const ct = Buffer.concat([first, last]);
      const blob = await deps.db.blob.create({ data: { ownerUserId: env.rcptTo[0]!.userId, declaredSize: ct.length } });
      blobIds.push(blob.id);
      const part = mailLimits.blobPartBytes;
      let parts = 0;
      for (let at = 0; at < ct.length; at += part) await deps.blobs.putPart(blob.id, parts++, ct.subarray(at, at + part));
      await deps.db.blob.update({ where: { id: blob.id }, data: { size: ct.length, parts, completedAt: deps.now(), sha256: new Uint8Array(createHash('sha256').update(ct).digest()) } });
      blobSizes.push(BigInt(ct.length));
      pieces.push(piece);
      a.content.fill(0);
    }

    // 5. The body piece: the message's own headers that matter, its text and HTML, the
    // authentication results, and a placeholder per attachment.
    const from = parsed.from?.value[0];
    const mime = buildMime({
      from: { name: from?.name ?? '', address: from?.address ?? env.mailFrom },
      to: flat(parsed.to),
      cc: flat(parsed.cc),
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : undefined,
      date: parsed.date ?? deps.now(),
      messageId: (parsed.messageId ?? mailId).replace(/^<|>$/g, ''),
      inReplyTo: parsed.inReplyTo?.replace(/^<|>$/g, ''),
      references: (Array.isArray(parsed.references) ? parsed.references : parsed.references ? [parsed.references] : []).map((r) => r.replace(/^<|>$/g, '')),
      attachments: attachments.map((a) => ({ filename: a.filename ?? 'attachment', contentType: a.contentType || 'application/octet-stream', size: a.size ?? a.content.length })),
      extraHeaders: authResults.map((v) => ['Authentication-Results', v] as const),
    });

    // 6. Sealed by the server to each recipient (no signature: labelled "Server Encrypted").
    const sealed = await sealMail({ messageId: mailId, sender: { kind: 'external', address: (from?.address ?? env.mailFrom).toLowerCase() }, pieces: [{ kind: 'body', plaintext: mime }, ...pieces.map((p) => ({ kind: 'attachment' as const, encrypted: p }))], to: keys });
    mime.fill(0);
    sealed.messageKey.fill(0);
    const parentMailId = parsed.inReplyTo?.replace(/^<|>$/g, '');
    const parent = parentMailId ? await deps.db.message.findUnique({ where: { mailId: parentMailId }, select: { id: true } }) : null;
    const holders: Holder[] = sealed.boxes.map((b, i) => ({ userId: b.userId, address: env.rcptTo[i]!.address, kind: 'to', box: b.record, folder: 'inbox' }));
    const stored = await storeMessage(deps.db, {
      mailId,
      senderUserId: null,
      senderAddress: (from?.address ?? env.mailFrom).toLowerCase(),
      to: flat(parsed.to),
      cc: flat(parsed.cc),
      protection: 'server',
      envelope: sealed.envelope,
      manifest: sealed.manifest,
      body: sealed.pieces[0]!,
      attachments: blobIds,
      attachmentSizes: attachments.map((a) => a.content.length),
      blobBytes: blobSizes.reduce((n, s) => n + s, 0n),
      parentId: parent?.id ?? null,
      sentAt: deps.now(),
      holders,
    });
    if (stored.entries.length === 0) throw new SmtpReply(552, '5.2.2 Mailbox full');
    // Open mailboxes hear about it (API processes LISTEN); the mail is stored whether or not this works.
    await publishMailEvents(deps.db, stored.entries.map((e) => ({ userId: e.userId, event: { entryId: e.entryId, folder: e.folder, kind: 'new' as const } }))).catch((err: unknown) => deps.logger.warn({ err }, 'smtp: mail event not published'));
    deps.logger.info({ messageId: stored.messageId, recipients: stored.entries.length, refused: stored.refused.length, bytes: raw.length }, 'smtp: delivered');
    return { messageId: stored.messageId, entries: stored.entries.length };
  } catch (err) {
    // Nothing half-stored: uploads of a message that was not stored go away.
    if (blobIds.length) await deps.db.blob.deleteMany({ where: { id: { in: blobIds }, messageId: null } }).catch(() => undefined);
    throw err;
  }
}
