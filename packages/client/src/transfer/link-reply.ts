/**
 * A secure reply through an expiring link, sealed in the outside recipient's browser
 * (docs/crypto.md §7.6, docs/mail.md §11). The viewer has opened the link's public copy; its
 * sealed body carries the sender's reply grant (`X-Sealmail-Link-Reply`). The reply is sealed to
 * the key the grant names — never one the server hands out — with no signature (the outside
 * recipient has no key), and carries inside its sealed body a tag made with the grant's secret, so
 * the sender's device can tell it came through this link. Kept apart from the rest of the client
 * so the viewer loads only this, the crypto package and the MIME builder.
 */
import { decodeLinkReplyGrant, fromBase64Url, linkReplyTag, sealMail, toBase64Url, type LinkReplyGrant } from '@sealmail/crypto';
import { buildMime, type ParsedMime } from '../mail/mime';

/** The grant inside an opened link mail, or null when the sender's client put none there. */
export function replyGrantOf(mime: ParsedMime): LinkReplyGrant | null {
  const raw = mime.sealmailHeaders?.['x-sealmail-link-reply'];
  if (!raw) return null;
  try {
    return decodeLinkReplyGrant(fromBase64Url(raw));
  } catch {
    return null;
  }
}

export interface LinkReplyInput {
  /** The opened link mail (its sealed body), whose grant names the key to seal to. */
  mime: ParsedMime;
  /** The public copy's sealed message id (from its envelope). */
  copyMessageId: string;
  /** The link's recipient, who writes the reply. */
  from: string;
  text: string;
  attachments: readonly { filename: string; contentType: string; bytes: Uint8Array }[];
  now?: Date;
}

/** The request body of `POST /api/v1/links/:id/replies` (contract `linkReply`). */
export interface SealedLinkReply {
  envelope: string;
  manifest: string;
  body: string;
  box: string;
  attachments: string[];
}

/**
 * Seals a reply to the sender's key named by the link mail's own sealed grant.
 * @throws Error when the mail carries no grant (sent by an older client: no reply possible).
 */
export async function sealLinkReply(input: LinkReplyInput): Promise<SealedLinkReply> {
  const grant = replyGrantOf(input.mime);
  if (!grant) throw new Error('This message cannot be answered through its link.');
  const domain = input.from.split('@')[1] || 'link.invalid';
  const messageId = `${crypto.randomUUID()}@${domain}`;
  const tag = linkReplyTag(grant.secret, input.copyMessageId, messageId);
  const original = input.mime;
  const subject = /^re:/i.test(original.subject) ? original.subject : `Re: ${original.subject}`;
  const sender = original.from?.address ?? '';
  const body = buildMime({
    from: { name: '', address: input.from },
    to: sender ? [sender] : [],
    cc: [],
    subject,
    text: input.text,
    date: input.now ?? new Date(),
    messageId,
    inReplyTo: original.messageId ?? undefined,
    references: [...original.references, ...(original.messageId ? [original.messageId] : [])],
    attachments: input.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.bytes.length })),
    extraHeaders: [['X-Sealmail-Link-Reply-Tag', `${input.copyMessageId};${grant.generation};${toBase64Url(tag)}`]],
  });
  const sealed = await sealMail({
    messageId,
    sender: { kind: 'external', address: input.from },
    pieces: [{ kind: 'body', plaintext: body }, ...input.attachments.map((a) => ({ kind: 'attachment' as const, plaintext: a.bytes }))],
    to: [{ userId: grant.userId, generation: grant.generation, publicKeys: grant.publicKeys }],
  });
  body.fill(0);
  sealed.messageKey.fill(0);
  grant.secret.fill(0);
  return {
    envelope: toBase64Url(sealed.envelope),
    manifest: toBase64Url(sealed.manifest),
    body: toBase64Url(sealed.pieces[0]!),
    box: toBase64Url(sealed.boxes[0]!.record),
    attachments: sealed.pieces.slice(1).map((p) => toBase64Url(p!)),
  };
}
