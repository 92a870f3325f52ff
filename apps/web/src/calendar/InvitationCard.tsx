/**
 * The invitation card of the mail reader (docs/calendar.md "Invitations"): for a mail with an
 * iCalendar part, the event as it stands in the reader's own calendar, their answer (Accept /
 * Tentative / Decline) and the events of theirs it clashes with. The card shows what the server
 * keeps in the reader's calendar (server-encrypted, like every calendar), found by the mail's UID.
 *
 * Looking it up sends the iCalendar part to the server. For mail the server already held in the
 * clear (Server Encrypted: the invitations it writes, mail from outside) that happens at once; for
 * mail encrypted end to end the part is the sender's secret, so the card asks first. A cancellation
 * or an invitation is shown as such only from the event's organiser (the mail's verified sender):
 * anyone who knows an event's UID could otherwise mail "cancelled" about it.
 */
import { useEffect, useState } from 'react';
import { describeError, keys, useTranslation, type MailView } from '@sealmail/ui';
import { eventRespond, invitationInspect, type PartstatAnswer } from '@sealmail/contract';
import { api } from '../SignIn';
import './invitation.css';

type Inspected = Awaited<ReturnType<typeof api.request<typeof invitationInspect>>>;
const ANSWERS: PartstatAnswer[] = ['ACCEPTED', 'TENTATIVE', 'DECLINED'];

export function InvitationCard({ address, mail }: { address: string; mail: MailView }) {
  const { t, i18n } = useTranslation();
  const part = mail.attachments.find((a) => a.contentType.toLowerCase() === 'text/calendar');
  const [state, setState] = useState<Inspected | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Only what the server held in the clear anyway is looked up without asking.
  const serverHeldIt = mail.protection === 'Server Encrypted';
  const [lookUp, setLookUp] = useState(serverHeldIt);

  useEffect(() => {
    if (!part || !lookUp) return;
    let live = true;
    void (async () => {
      try {
        const blob = (await keys({ op: 'mailAttachment', address, entryId: mail.entryId, piece: part.piece })) as Blob;
        const r = await api.request(invitationInspect, { body: { ics: await blob.text() } });
        if (live) setState(r);
      } catch (err) {
        if (live) setProblem(describeError(err));
      }
    })();
    return () => {
      live = false;
    };
  }, [address, mail.entryId, part?.piece, lookUp]);
  if (!part) return null;

  const inv = state?.invitation;
  // CANCEL and REQUEST speak for the organiser, REPLY for a guest: from anyone else they change nothing and are not shown as such.
  const sender = mail.from.toLowerCase();
  const organizer = inv?.event.organizer?.email.toLowerCase();
  const speaksForEvent = !inv || !state || (state.method === 'REPLY' ? inv.event.attendees.some((a) => a.email.toLowerCase() === sender) : organizer !== undefined && organizer === sender);
  const method = speaksForEvent ? state?.method : undefined;
  const when = (s: string, allDay: boolean, tz?: string) => {
    if (allDay) return new Intl.DateTimeFormat(i18n.language, { dateStyle: 'full' }).format(new Date(`${s}T12:00:00`));
    // Wall-clock time in the event's zone, named.
    const [d, c] = s.split('T');
    return `${new Intl.DateTimeFormat(i18n.language, { dateStyle: 'full' }).format(new Date(`${d}T12:00:00`))} ${c}${tz ? ` (${tz})` : ''}`;
  };
  const answer = async (partstat: PartstatAnswer) => {
    if (!inv) return;
    setBusy(true);
    setProblem(null);
    try {
      const event = await api.request(eventRespond, { params: { id: inv.event.calendarId, eventId: inv.event.id }, body: { partstat } });
      setState({ ...state!, invitation: { ...inv, event, partstat } });
    } catch (err) {
      setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="invitation" aria-label={t('invite.card')}>
      <h4>{method === 'CANCEL' ? t('invite.cancelled') : method === 'REPLY' ? t('invite.reply') : t('invite.invitation')}</h4>
      {!lookUp && (
        <>
          <p>{t('invite.e2eHint')}</p>
          <button type="button" onClick={() => setLookUp(true)}>
            {t('invite.lookUp')}
          </button>
        </>
      )}
      {lookUp && !state && !problem && <p>{t('invite.loading')}</p>}
      {state && !speaksForEvent && <p role="alert">{t(state.method === 'REPLY' ? 'invite.notFromGuest' : 'invite.notFromOrganizer', { sender: mail.from, organizer: organizer ?? '' })}</p>}
      {state && !inv && <p>{state.method === 'CANCEL' ? t('invite.removed') : t('invite.notInCalendar')}</p>}
      {inv && (
        <>
          <p className="invitation-title">{inv.event.title}</p>
          <p>
            {when(inv.event.start, inv.event.allDay, inv.event.startTz)}
            {inv.event.allDay ? '' : ` – ${inv.event.end.slice(11)}`}
            {inv.event.rrule ? ` · ${t('invite.repeats')}` : ''}
          </p>
          {inv.event.location && <p>{t('invite.where', { location: inv.event.location })}</p>}
          {inv.event.organizer && <p>{t('invite.organizer', { address: inv.event.organizer.email })}</p>}
          {inv.partstat === null ? (
            <ul aria-label={t('invite.answers')}>
              {inv.event.attendees.map((a) => (
                <li key={a.email}>
                  {a.email}: {t(`invite.partstat.${a.partstat}`)}
                </li>
              ))}
            </ul>
          ) : (
            method !== 'CANCEL' && (
              <>
                <p role="status">{t('invite.yourAnswer', { answer: t(`invite.partstat.${inv.partstat}`) })}</p>
                <div className="invitation-answers" role="group" aria-label={t('invite.answer')}>
                  {ANSWERS.map((a) => (
                    <button key={a} type="button" aria-pressed={inv.partstat === a} disabled={busy} onClick={() => void answer(a)}>
                      {t(`invite.do.${a}`)}
                    </button>
                  ))}
                </div>
              </>
            )
          )}
          {inv.conflicts.length > 0 ? (
            <div className="invitation-conflicts">
              <p>{t('invite.conflicts', { count: inv.conflicts.length })}</p>
              <ul>
                {inv.conflicts.map((c, i) => (
                  <li key={i}>
                    {c.title || t('calendar.untitled')} — {c.allDay ? c.start : new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(c.start))}
                  </li>
                ))}
              </ul>
            </div>
          ) : (
            inv.partstat !== null && <p>{t('invite.noConflicts')}</p>
          )}
        </>
      )}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
