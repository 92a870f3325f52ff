/**
 * A mail of this user's opened again for editing — a draft (Edit draft) or a mail waiting in the
 * Outbox (Edit): every field, the formatted text, the attachments and the inline images, each
 * piece opened (and authenticated) on this device by the key worker. Inline images go back into
 * the editor as images of this page; sending or saving turns them into inline parts again.
 */
import { keys, type MailView } from '@sealmail/ui';
import type { ComposeSeed } from '../mail/Compose';
import { namedInHtml } from '@sealmail/client/html';

/** Every attachment of a mail as a file, each opened (and authenticated) by the key worker; all at once. */
export function attachmentFiles(address: string, m: MailView): Promise<{ attachment: MailView['attachments'][number]; file: File }[]> {
  return Promise.all(
    m.attachments.map(async (a) => {
      const blob = await keys({ op: 'mailAttachment', address, entryId: m.entryId, piece: a.piece });
      return { attachment: a, file: new File([blob], a.filename, { type: a.contentType || 'application/octet-stream' }) };
    }),
  );
}

export async function reopenSeed(address: string, m: MailView, extra: Pick<ComposeSeed, 'draftId'> = {}): Promise<ComposeSeed> {
  const files: File[] = [];
  const inline: { cid: string; file: File }[] = [];
  const pieces: number[] = [];
  const inlinePieces: number[] = [];
  for (const { attachment: a, file } of await attachmentFiles(address, m)) {
    if (a.contentId && namedInHtml(m.html, a.contentId)) {
      inline.push({ cid: a.contentId, file });
      inlinePieces.push(a.piece);
    } else {
      files.push(file);
      pieces.push(a.piece);
    }
  }
  // Edit draft: the composer's saves continue this draft, keeping each file's upload while the file
  // stays at its place — files first, then the images in the text (docs/mail.md "Drafts"); without
  // it the first save uploads them afresh.
  const all = [...pieces, ...inlinePieces];
  const draft = extra.draftId ? { session: crypto.randomUUID(), fileIds: all.map(() => crypto.randomUUID()) } : null;
  if (draft) {
    const kept = all.map((piece, i) => ({ piece, fileId: draft.fileIds[i]! })).filter((f, i) => f.piece === i + 1);
    await keys({ op: 'draftContinue', address, entryId: m.entryId, session: draft.session, files: kept }).catch(() => undefined);
  }
  return {
    ...(draft ? draft : {}),
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
