/**
 * The editor's guests (docs/calendar.md "Invitations"): addresses to invite (one field, separated
 * by commas or spaces), each guest's answer as the organizer's copy knows it. Saving the event
 * mails the invitations (REQUEST) and cancellations (CANCEL); the server does that. The editor
 * remounts it (key) once a stored event has loaded.
 */
import { useState } from 'react';
import { useTranslation } from '@sealmail/ui';
import type { EventView } from '@sealmail/contract';

export type Attendee = EventView['attendees'][number];

export function AttendeesField({ attendees, organizer, onChange }: { attendees: Attendee[]; organizer: string | null; onChange: (next: Attendee[]) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState(attendees.map((a) => a.email).join(', '));
  const commit = (value: string) => {
    setText(value);
    const emails = [...new Set(value.split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean))];
    onChange(emails.map((email) => attendees.find((a) => a.email.toLowerCase() === email) ?? { email, role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' }));
  };
  return (
    <div className="cal-guests">
      <label>
        {t('invite.guests')}
        <input type="text" inputMode="email" value={text} onChange={(e) => commit(e.target.value)} placeholder={t('invite.guestsHint')} autoComplete="off" />
      </label>
      {organizer && attendees.length > 0 && (
        <ul aria-label={t('invite.answers')}>
          {attendees.map((a) => (
            <li key={a.email}>
              {a.name ? `${a.name} <${a.email}>` : a.email}: <span className={`partstat ${a.partstat.toLowerCase()}`}>{t(`invite.partstat.${a.partstat}`)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
