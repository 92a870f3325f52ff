/**
 * A mail of this user's opened again for editing — a draft (Edit draft) or a mail waiting in the
 * Outbox (Edit): every field, the formatted text, the attachments and the inline images, each
 * piece opened (and authenticated) on this device by the key worker. Inline images go back into
 * the editor as images of this page; sending or saving turns them into inline parts again.
 */
import { keys, type MailView } from '@sealmail/ui';
import type { ComposeSeed } from '../mail/Compose';
import { namedInHtml } from '@sealmail/client/html';

export async function reopenSeed(address: string, m: MailView, extra: Pick<ComposeSeed, 'draftId'> = {}): Promise<ComposeSeed> {
  const files: File[] = [];
  const inline: { cid: string; file: File }[] = [];
  for (const a of m.attachments) {
    const blob = await keys({ op: 'mailAttachment', address, entryId: m.entryId, piece: a.piece });
    const file = new File([blob], a.filename, { type: a.contentType || 'application/octet-stream' });
    if (a.contentId && namedInHtml(m.html, a.contentId)) inline.push({ cid: a.contentId, file });
    else files.push(file);
  }
  return {
    to: m.to.join(', '),
    cc: m.cc.join(', '),
    ...(m.bcc.length ? { bcc: m.bcc.join(', ') } : {}),
    subject: m.subject,
    body: m.text,
    ...(m.html ? { html: m.html } : {}),
    ...(files.length ? { files } : {}),
    ...(inline.length ? { inline } : {}),
    ...extra,
  };
}
