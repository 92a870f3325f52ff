/**
 * Calendar reminders in the web client (docs/calendar.md "Reminders"): the server's reminder job
 * sends a `reminder` event down the mail event stream (ids only: the event, its calendar and the
 * occurrence's start); this reads the event's title and shows a notice in the page — and a desktop
 * notification when the user turned those on and the tab is in the background.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from '@sealmail/ui';
import { eventGet } from '@sealmail/contract';
import { api } from '../SignIn';
import { notificationsOn } from '../settings/prefs';

interface Notice {
  key: string;
  text: string;
}

export function ReminderNotices() {
  const { t, i18n } = useTranslation();
  const [notices, setNotices] = useState<Notice[]>([]);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const events = new EventSource('/api/v1/mail/events');
    events.addEventListener('mail', (e: MessageEvent<string>) => {
      const data = JSON.parse(e.data) as { kind?: string; entryId?: string; folder?: string; at?: string };
      if (data.kind !== 'reminder' || !data.entryId || !data.folder) return;
      void api.request(eventGet, { params: { id: data.folder, eventId: data.entryId } }).then((ev) => {
        const at = data.at && data.at.length > 10 ? new Intl.DateTimeFormat(i18n.language, { hour: '2-digit', minute: '2-digit' }).format(new Date(data.at)) : (data.at ?? '');
        const text = t('calendarSched.reminder.notice', { title: ev.title, time: at });
        setNotices((n) => [...n.filter((x) => x.key !== `${data.entryId}${data.at}`), { key: `${data.entryId}${data.at}`, text }]);
        if (notificationsOn() && document.visibilityState !== 'visible') new Notification(ev.title, { body: text, tag: `${data.entryId}${data.at}` });
      }, () => undefined);
    });
    return () => events.close();
  }, [t, i18n.language]);
  if (notices.length === 0) return null;
  return (
    <div className="reminder-notices" role="status">
      {notices.map((n) => (
        <p key={n.key}>
          {n.text}{' '}
          <button type="button" onClick={() => setNotices((all) => all.filter((x) => x.key !== n.key))}>
            {t('calendarSched.reminder.dismiss')}
          </button>
        </p>
      ))}
    </div>
  );
}
