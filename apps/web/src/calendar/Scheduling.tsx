/**
 * The scheduling view of the event editor (docs/calendar.md "Free/busy and scheduling"): the
 * attendees and rooms of the event, one row each with its busy blocks on the event's day (from
 * GET /api/v1/freebusy: instants only), and the first slots when everyone and the rooms are free,
 * computed in the browser (slots.ts). A room's answer (accepted, or declined with its reason)
 * shows once the event is saved. People outside the organisation have no free/busy: their row
 * says so.
 */
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from '@sealmail/ui';
import { freeBusy, resourceList, type EventInput, type ResourceView } from '@sealmail/contract';
import { api } from '../SignIn';
import { firstFreeSlots, instantToWall, wallToInstant, type Interval } from './slots';
import './sched.css';

type Attendee = NonNullable<EventInput['attendees']>[number];
const DAY_FROM = 7;
const DAY_TO = 20;
const LOOK_DAYS = 14;

export function Scheduling({ attendees, onAttendees, start, end, tz, onPick }: { attendees: Attendee[]; onAttendees: (a: Attendee[]) => void; start: string; end: string; tz: string; onPick: (start: string, end: string) => void }) {
  const { t, i18n } = useTranslation();
  const [resources, setResources] = useState<ResourceView[]>([]);
  const [busy, setBusy] = useState<Record<string, Interval[] | 'none'>>({});
  const [address, setAddress] = useState('');
  const day = start.slice(0, 10);
  const addresses = attendees.map((a) => a.email).join(',');

  useEffect(() => {
    api.request(resourceList, {}).then((r) => setResources(r.resources), () => setResources([]));
  }, []);
  useEffect(() => {
    if (!day || attendees.length === 0) return;
    const from = wallToInstant(`${day}T00:00`, tz);
    const to = from + LOOK_DAYS * 86_400_000;
    let live = true;
    void Promise.all(
      attendees.map(async (a) => {
        try {
          const r = await api.request(freeBusy, { query: { address: a.email, from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
          return [a.email, r.busy.map((b) => ({ start: Date.parse(b.start), end: Date.parse(b.end) }))] as const;
        } catch {
          return [a.email, 'none' as const] as const;
        }
      }),
    ).then((rows) => live && setBusy(Object.fromEntries(rows)));
    return () => {
      live = false;
    };
  }, [addresses, day, tz]);

  const startMs = start.length >= 16 ? wallToInstant(start, tz) : NaN;
  const endMs = end.length >= 16 ? wallToInstant(end, tz) : NaN;
  const span = { from: wallToInstant(`${day}T${String(DAY_FROM).padStart(2, '0')}:00`, tz), to: wallToInstant(`${day}T${String(DAY_TO).padStart(2, '0')}:00`, tz) };
  const pct = (ms: number) => `${Math.min(100, Math.max(0, ((ms - span.from) / (span.to - span.from)) * 100))}%`;
  const clock = (ms: number) => instantToWall(ms, tz).slice(11);
  const slots = useMemo(() => {
    if (!(endMs > startMs) || attendees.length === 0 || attendees.some((a) => busy[a.email] === undefined)) return [];
    const rows = attendees.map((a) => busy[a.email]).filter((b): b is Interval[] => Array.isArray(b));
    return firstFreeSlots(rows, endMs - startMs, Math.max(wallToInstant(`${day}T00:00`, tz), Date.now()), { tz, days: LOOK_DAYS });
  }, [busy, startMs, endMs, addresses, day, tz]);
  const slotLabel = (s: Interval) => `${new Intl.DateTimeFormat(i18n.language, { weekday: 'short', day: 'numeric', month: 'short', timeZone: tz }).format(s.start)} ${clock(s.start)}–${clock(s.end)}`;

  const add = (a: Attendee) => {
    if (attendees.some((x) => x.email === a.email)) return;
    onAttendees([...attendees, a]);
  };
  const rooms = resources.filter((r) => !attendees.some((a) => a.email === r.address));

  return (
    <fieldset className="cal-sched">
      <legend>{t('calendarSched.sched.title')}</legend>
      <div className="row">
        <label>
          {t('calendarSched.sched.addPerson')}
          <input type="email" value={address} onChange={(e) => setAddress(e.target.value)} placeholder="name@example.com" />
        </label>
        <button
          type="button"
          disabled={!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address.trim())}
          onClick={() => {
            add({ email: address.trim().toLowerCase(), role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' });
            setAddress('');
          }}
        >
          {t('calendarSched.sched.add')}
        </button>
      </div>
      {rooms.length > 0 && (
        <label>
          {t('calendarSched.sched.addRoom')}
          <select
            value=""
            onChange={(e) => {
              const r = resources.find((x) => x.address === e.target.value);
              if (r) add({ email: r.address, name: r.name, role: 'NON-PARTICIPANT', partstat: 'NEEDS-ACTION', cutype: r.kind === 'room' ? 'ROOM' : 'RESOURCE' });
            }}
          >
            <option value="">{t('calendarSched.sched.chooseRoom')}</option>
            {rooms.map((r) => (
              <option key={r.id} value={r.address}>
                {r.capacity ? t('calendarSched.sched.roomWithCapacity', { name: r.name, capacity: r.capacity }) : r.name}
                {r.location ? ` · ${r.location}` : ''}
              </option>
            ))}
          </select>
        </label>
      )}
      {attendees.length > 0 && (
        <>
          <div className="cal-sched-hours" aria-hidden="true">
            <span />
            <div>
              {Array.from({ length: DAY_TO - DAY_FROM }, (_, i) => (
                <span key={i}>{String(DAY_FROM + i).padStart(2, '0')}</span>
              ))}
            </div>
            <span />
          </div>
          <ul className="cal-sched-rows" aria-label={t('calendarSched.sched.rows', { day })}>
            {attendees.map((a) => {
              const b = busy[a.email];
              const todays = Array.isArray(b) ? b.filter((x) => x.end > span.from && x.start < span.to) : [];
              const room = a.cutype === 'ROOM' || a.cutype === 'RESOURCE';
              return (
                <li key={a.email} className={room ? 'cal-sched-row room' : 'cal-sched-row'}>
                  <span className="who">
                    {a.name ?? a.email}
                    {a.partstat && a.partstat !== 'NEEDS-ACTION' && <span className={`partstat ${a.partstat.toLowerCase()}`}> · {t(`calendarSched.partstat.${a.partstat}`)}</span>}
                    {a.reason && <span className="reason"> — {a.reason}</span>}
                  </span>
                  <div className="bar" role="img" aria-label={b === 'none' ? t('calendarSched.sched.noFreeBusy') : b === undefined ? t('common.loading') : todays.length ? t('calendarSched.sched.busyAt', { times: todays.map((x) => `${clock(x.start)}–${clock(x.end)}`).join(', ') }) : t('calendarSched.sched.freeAllDay')}>
                    {b === 'none' && <span className="none">{t('calendarSched.sched.noFreeBusy')}</span>}
                    {todays.map((x) => (
                      <span key={x.start} className="busy" style={{ left: pct(x.start), width: `calc(${pct(x.end)} - ${pct(x.start)})` }} />
                    ))}
                    {endMs > startMs && <span className="mine" style={{ left: pct(startMs), width: `calc(${pct(endMs)} - ${pct(startMs)})` }} />}
                  </div>
                  <button type="button" aria-label={t('calendarSched.sched.remove', { name: a.name ?? a.email })} onClick={() => onAttendees(attendees.filter((x) => x.email !== a.email))}>
                    ×
                  </button>
                </li>
              );
            })}
          </ul>
          <div className="cal-sched-slots" role="group" aria-label={t('calendarSched.sched.suggestions')}>
            <span>{slots.length ? t('calendarSched.sched.suggestions') : t('calendarSched.sched.noSlots')}</span>
            {slots.map((s) => (
              <button key={s.start} type="button" onClick={() => onPick(instantToWall(s.start, tz), instantToWall(s.end, tz))}>
                {slotLabel(s)}
              </button>
            ))}
          </div>
        </>
      )}
    </fieldset>
  );
}
