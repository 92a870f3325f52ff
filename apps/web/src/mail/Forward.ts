/**
 * Forward (docs/mail.md "Organising mail"): the original's text quoted under a forwarded-message
 * header, and its attachments opened in the key worker (each only once every byte authenticated)
 * and handed to the compose window as files, so they are sealed again for the new recipients
 * like any attachment — end to end for users here, link or standard for the outside, as chosen.
 * The server never sees them in plaintext.
 */
import { formatDateTime, i18n, keys, type MailView } from '@sealmail/ui';
import type { ComposeSeed } from './Compose';
import { attachmentFiles } from '../compose/reopen';

export async function forwardSeed(address: string, m: MailView): Promise<ComposeSeed> {
  const files = (await attachmentFiles(address, m)).map((x) => x.file);
  const header = [
    i18n.t('organise.forwardedHeader'),
    `${i18n.t('organise.forwardFrom')}: ${m.fromName ? `${m.fromName} <${m.from}>` : m.from}`,
    `${i18n.t('organise.forwardDate')}: ${formatDateTime(m.date)}`,
    `${i18n.t('organise.forwardSubject')}: ${m.subject}`,
    `${i18n.t('organise.forwardTo')}: ${m.to.join(', ')}`,
    ...(m.cc.length ? [`Cc: ${m.cc.join(', ')}`] : []),
  ].join('\n');
  return { subject: /^fwd?:/i.test(m.subject) ? m.subject : `Fwd: ${m.subject}`, quote: `${header}\n\n${m.text}`, files };
}

/** A file name for a forwarded message: its subject without characters file systems refuse. */
export const emlName = (subject: string) => `${subject.replace(/[\\/:*?"<>|\p{Cc}]+/gu, '_').trim().slice(0, 80) || 'message'}.eml`;

/**
 * Forward as attachment: the whole original — headers, text, HTML and every attachment's bytes —
 * as one EML file (message/rfc822), made in the key worker from the opened, authenticated pieces
 * and attached to the new mail, so it is sealed anew for the new recipients like any attachment.
 */
export async function forwardAsAttachmentSeed(address: string, m: MailView): Promise<ComposeSeed> {
  const eml = await keys({ op: 'mailEml', address, entryId: m.entryId });
  return { subject: /^fwd?:/i.test(m.subject) ? m.subject : `Fwd: ${m.subject}`, files: [new File([eml], emlName(m.subject), { type: 'message/rfc822' })] };
}
