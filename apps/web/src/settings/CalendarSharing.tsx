/**
 * Settings → Calendar sharing (docs/calendar.md "Delegation"): the user lets a colleague of their
 * organisation view one of their calendars or manage it (create and change events there; the
 * invitations name the owner as organizer, SENT-BY the delegate), and stops it again. The server
 * records every grant and revoke in the audit chain. The colleague finds the calendar in the
 * Calendar view's list and can choose it for new events.
 */
import { useCallback, useEffect, useState } from 'react';
import { describeError, useTranslation } from '@sealmail/ui';
import { calendarGrantList, calendarGrantPut, calendarGrantRevoke, calendarList, type CalendarView, type GrantView } from '@sealmail/contract';
import { api } from '../SignIn';

export function CalendarSharing() {
  const { t } = useTranslation();
  const [calendars, setCalendars] = useState<CalendarView[]>([]);
  const [calendarId, setCalendarId] = useState('');
  const [grants, setGrants] = useState<GrantView[]>([]);
  const [address, setAddress] = useState('');
  const [level, setLevel] = useState<'view' | 'manage'>('view');
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    api.request(calendarList, {}).then(
      (r) => {
        setCalendars(r.calendars);
        setCalendarId((id) => id || (r.calendars[0]?.id ?? ''));
      },
      (err: unknown) => setProblem(describeError(err)),
    );
  }, []);
  const load = useCallback(async () => {
    if (!calendarId) return;
    try {
      setGrants((await api.request(calendarGrantList, { params: { id: calendarId } })).grants);
    } catch (err) {
      setProblem(describeError(err));
    }
  }, [calendarId]);
  useEffect(() => void load(), [load]);
  const name = calendars.find((c) => c.id === calendarId)?.name ?? '';

  return (
    <section id="settings-calendarSharing" aria-labelledby="calendar-sharing-title" className="account-section">
      <h2 id="calendar-sharing-title">{t('calendarSched.sharing.title')}</h2>
      <p className="sub">{t('calendarSched.sharing.intro')}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setProblem(null);
          setNote(null);
          api.request(calendarGrantPut, { params: { id: calendarId }, body: { address: address.trim(), level } }).then(
            (g) => {
              setNote(t('calendarSched.sharing.granted', { address: g.address, level: t(`calendarSched.level.${g.level}`), name }));
              setAddress('');
              void load();
            },
            (err: unknown) => setProblem(describeError(err)),
          );
        }}
      >
        <label>
          {t('calendarSched.sharing.calendar')}
          <select value={calendarId} onChange={(e) => setCalendarId(e.target.value)}>
            {calendars.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('calendarSched.sharing.address')}
          <input type="email" value={address} onChange={(e) => setAddress(e.target.value)} required autoComplete="off" />
        </label>
        <label>
          {t('calendarSched.sharing.level')}
          <select value={level} onChange={(e) => setLevel(e.target.value as 'view' | 'manage')}>
            <option value="view">{t('calendarSched.level.view')}</option>
            <option value="manage">{t('calendarSched.level.manage')}</option>
          </select>
        </label>
        <button type="submit" disabled={!calendarId}>
          {t('calendarSched.sharing.grant')}
        </button>
      </form>
      {grants.length === 0 ? (
        <p>{t('calendarSched.sharing.none')}</p>
      ) : (
        <ul>
          {grants.map((g) => (
            <li key={g.userId}>
              {g.name} &lt;{g.address}&gt; — {t(`calendarSched.level.${g.level}`)}{' '}
              <button
                type="button"
                className="secondary"
                aria-label={t('calendarSched.sharing.revoke', { name: g.name })}
                onClick={() =>
                  void api.request(calendarGrantRevoke, { params: { id: calendarId, userId: g.userId } }).then(
                    () => {
                      setNote(t('calendarSched.sharing.revoked', { address: g.address }));
                      void load();
                    },
                    (err: unknown) => setProblem(describeError(err)),
                  )
                }
              >
                {t('calendarSched.sharing.revoke', { name: g.name })}
              </button>
            </li>
          ))}
        </ul>
      )}
      {problem && <p role="alert">{problem}</p>}
      {note && <p role="status">{note}</p>}
    </section>
  );
}
