import type { MailRow } from '@sealmail/ui';
import { ProtectionLabel } from './Reader';
import { PaperclipIcon, StarIcon } from './Icons';
import { shortDate } from './format';

/**
 * A list row's content. The button is named by it, so the subject comes first in the page (said
 * as "Unread: Subject from address, starred, 2 attachments"); the stylesheet shows sender and
 * date above it. Words only a screen reader needs are visually hidden; icons are hidden from it.
 */
export function RowContent({ row: r, from, labelName }: { row: MailRow; from: string; labelName: (id: string) => string }) {
  if (r.error)
    return (
      <>
        <span className="subject error">
          <span className="visually-hidden">Message that could not be decrypted: </span>
          {r.error}
        </span>
        <span className="from">{from}</span>
        <span className="date">{shortDate(r.date)}</span>
      </>
    );
  return (
    <>
      <span className="subject">
        {!r.read && <span className="visually-hidden">Unread: </span>}
        {r.starred && <StarIcon />}
        {r.subject || '(no subject)'}
        <span className="visually-hidden"> from {r.from}</span>
        {r.starred && <span className="visually-hidden">, starred</span>}
        {r.attachmentCount > 0 && (
          <>
            <span className="visually-hidden">, </span>
            <PaperclipIcon label={r.attachmentCount === 1 ? '1 attachment' : `${r.attachmentCount} attachments`} />
          </>
        )}
      </span>
      <span className="from">{from}</span>
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
    </>
  );
}
