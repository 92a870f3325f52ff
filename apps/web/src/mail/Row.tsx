import type { ReactNode } from 'react';
import { useTranslation, type MailRow } from '@sealmail/ui';
import { ProtectionLabel } from './Reader';
import { PaperclipIcon, StarIcon } from './Icons';
import { shortDate } from './format';

/**
 * A list row's content. The button is named by it, so the subject comes first in the page (said
 * as "Unread: Subject from address, starred, 2 attachments"); the stylesheet shows sender and
 * date above it. Words only a screen reader needs are visually hidden; icons are hidden from it.
 */
export function RowContent({ row: r, from, labelName }: { row: MailRow; from: ReactNode; labelName: (id: string) => string }) {
  const { t } = useTranslation();
  // The sender line is cut with an ellipsis when long: the title (and the row's name) keep it whole.
  const fromTitle = typeof from === 'string' ? from : r.from;
  if (r.error)
    return (
      <>
        <span className="subject error">
          <span className="visually-hidden">{t('mail.undecryptableRow')}</span>
          {t('mail.rowUndecryptable')}
        </span>
        <span className="from" title={fromTitle}>
          {from}
        </span>
        <span className="date">{shortDate(r.date)}</span>
      </>
    );
  return (
    <>
      <span className="subject">
        {!r.read && <span className="visually-hidden">{t('mail.unread')}</span>}
        {r.starred && <StarIcon />}
        {r.subject || t('mail.noSubject')}
        <span className="visually-hidden">{t('mail.from', { address: r.from })}</span>
        {r.starred && <span className="visually-hidden">{t('mail.starred')}</span>}
        {r.attachmentCount > 0 && (
          <>
            <span className="visually-hidden">, </span>
            <PaperclipIcon label={t('mail.attachmentIcon', { count: r.attachmentCount })} />
          </>
        )}
      </span>
      <span className="from" title={fromTitle}>
        {from}
      </span>
      <span className="date">{shortDate(r.date)}</span>
      {r.snippet && <span className="snippet">{r.snippet}</span>}
      {r.labelIds.length > 0 && (
        <span className="chips">
          {r.labelIds.map((id) => (
            <span key={id} className="chip">
              {labelName(id)}
            </span>
          ))}
        </span>
      )}
      <ProtectionLabel protection={r.protection} />
      {r.sentBy && <span className="on-behalf">{t('delegation.sentOnBehalf', { delegate: r.sentBy, mailbox: r.from })}</span>}
    </>
  );
}
