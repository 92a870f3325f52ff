/**
 * A mail forwarded as an attachment (`message/rfc822`, docs/mail.md "Organising mail"): the EML
 * file, already opened and authenticated as a piece of the mail that carries it, parsed on the
 * device so the reader can show it inline — its headers, text or HTML (sanitised by the caller
 * like any mail) and its own attachments' bytes. Runs in browsers, workers and Node (postal-mime).
 */
import PostalMime from 'postal-mime';

export interface AttachedMessage {
  subject: string;
  from: string;
  to: string[];
  date: string | null;
  text: string;
  html: string | null;
  attachments: { filename: string; contentType: string; bytes: Uint8Array; contentId: string | null; inline: boolean }[];
}

const addresses = (list: { name: string; address?: string; group?: { name: string; address?: string }[] }[] | undefined) =>
  (list ?? []).flatMap((a) => (a.group ? a.group : [a])).map((a) => (a.name && a.address ? `${a.name} <${a.address}>` : a.address ?? a.name));

/** Parses an attached message (any RFC 5322 message). Nested messages stay attachments. */
export async function parseAttachedMessage(eml: Uint8Array | ArrayBuffer): Promise<AttachedMessage> {
  const email = await PostalMime.parse(eml, { attachmentEncoding: 'arraybuffer', forceRfc822Attachments: true });
  return {
    subject: email.subject ?? '',
    from: addresses(email.from ? [email.from] : [])[0] ?? '',
    to: addresses(email.to),
    date: email.date ?? null,
    text: email.text ?? '',
    html: email.html ?? null,
    attachments: email.attachments.map((a, i) => ({
      filename: a.filename ?? `attachment-${i + 1}`,
      contentType: a.mimeType || 'application/octet-stream',
      bytes: new Uint8Array(a.content as ArrayBuffer),
      contentId: a.contentId ? a.contentId.trim().replace(/^<|>$/g, '') : null,
      inline: !!a.related,
    })),
  };
}
