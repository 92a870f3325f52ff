import { i18n, keys } from '@sealmail/ui';
import { notificationsOn } from '../settings/prefs';

/** The tab's title: the unread count of the Inbox first, then where the user is. */
export function tabTitle(where: string, inboxUnread: number): string {
  return `${inboxUnread > 0 ? `(${inboxUnread}) ` : ''}${where} — Sealmail`;
}

/**
 * A desktop notification for a new mail in the Inbox — only when the user turned them on, the
 * browser allows them and this tab is not the one being looked at. Sender and subject are
 * decrypted here, on the device; the server only said that an entry arrived.
 */
export async function notifyNewMail(address: string, entryId: string, onClick: () => void): Promise<void> {
  if (!notificationsOn() || document.visibilityState === 'visible') return;
  const mail = await keys({ op: 'mailOpen', address, entryId });
  const n = new Notification(mail.fromName || mail.from, { body: mail.subject || i18n.t('mail.noSubject'), tag: entryId });
  n.onclick = () => {
    window.focus();
    onClick();
    n.close();
  };
}
