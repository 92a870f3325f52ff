/**
 * The Calendar view (docs/calendar.md): week, month and agenda views of the user's calendars, and
 * an editor for events with recurrence presets. Loaded lazily from App.tsx, so the mailbox's first
 * paint does not carry it. Occurrences come expanded from the server in the viewer's zone.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { describeError, useTranslation } from '@sealmail/ui';
import { calendarList, eventCreate, eventDelete, eventGet, eventUpdate, occurrenceList, type EventInput, type OccurrenceView } from '@sealmail/contract';
import { api } from '../SignIn';
import { DayColumn } from './TimeGrid';
import { saveTimes } from './drag';
import { useCalendarKeys, CalendarShortcuts } from './keys';
import { AttendeesField, type Attendee } from './Attendees';
import './calendar.css';
import { CalendarList, type CalendarState } from './CalendarList';
import { Scheduling } from './Scheduling';

type View = 'day' | 'week' | 'month' | 'agenda';
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const pad = (n: number) => String(n).padStart(2, '0');
const iso = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const addDays = (d: Date, n: number) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
const startOfWeek = (d: Date) => addDays(d, -((d.getDay() + 6) % 7));
/** The translated message; for bad calendar input also the server's note naming the property. */
const DETAILED = new Set(['CALENDAR_ICS_INVALID', 'CALENDAR_UNKNOWN_TIME_ZONE', 'CALENDAR_RECURRENCE_INVALID']);
function problemText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = describeError(err);
  return e.code && DETAILED.has(e.code) && e.message ? `${text} (${e.message})` : text;
}
const parseDate = (s: string) => new Date(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10)));

function rangeOf(view: View, anchor: Date): { from: Date; to: Date } {
  if (view === 'day') return { from: anchor, to: addDays(anchor, 1) };
  if (view === 'week') {
    const from = startOfWeek(anchor);
    return { from, to: addDays(from, 7) };
  }
  if (view === 'month') {
    const first = new Date(anchor.getFullYear(), anchor.getMonth(), 1);
    const from = startOfWeek(first);
    return { from, to: addDays(from, 42) };
  }
  return { from: anchor, to: addDays(anchor, 30) };
}

/** Which local dates an occurrence covers (all-day: end exclusive). */
function daysOf(o: OccurrenceView): string[] {
  const start = o.localStart.slice(0, 10);
  const endRaw = o.localEnd.slice(0, 10);
  const end = o.allDay ? iso(addDays(parseDate(endRaw), -1)) : o.localEnd.slice(11) === '00:00' && endRaw > start ? iso(addDays(parseDate(endRaw), -1)) : endRaw;
  const out: string[] = [];
  for (let d = parseDate(start); iso(d) <= end && out.length < 62; d = addDays(d, 1)) out.push(iso(d));
  return out;
}

export function Calendar({ onMail }: { onMail: () => void }) {
  const { t, i18n } = useTranslation();
  const narrow = typeof window !== 'undefined' && window.matchMedia('(max-width: 700px)').matches;
  const [view, setView] = useState<View>(narrow ? 'agenda' : 'week');
  const [anchor, setAnchor] = useState(() => new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate()));
  const [calendarId, setCalendarId] = useState<string | null>(null);
  const [items, setItems] = useState<OccurrenceView[]>([]);
  const [truncated, setTruncated] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ occurrence?: OccurrenceView; date?: string; start?: string; end?: string } | null>(null);
  const [help, setHelp] = useState(false);
  const [cals, setCals] = useState<CalendarState | null>(null);
  const sharedShown = (cals?.calendars ?? []).filter((c) => c.level !== 'owner' && !cals?.hidden.has(c.id)).map((c) => c.id).join(',');
  const { from, to } = useMemo(() => rangeOf(view, anchor), [view, anchor]);

  /** Only the newest request's answer is shown (an older one may arrive later, e.g. after Next, Today). */
  const loads = useRef(0);
  const load = useCallback(async () => {
    const n = ++loads.current;
    try {
      // The user's own calendars, and each shown calendar shared with them (CalendarList.tsx).
      const all = await Promise.all([undefined, ...(sharedShown ? sharedShown.split(',') : [])].map((calendarId) => api.request(occurrenceList, { query: { from: iso(from), to: iso(to), tz: zone, calendarId } })));
      if (n !== loads.current) return;
      setItems(all.flatMap((r) => r.occurrences).sort((a, b) => (a.allDay === b.allDay ? a.localStart.localeCompare(b.localStart) : a.allDay ? -1 : 1)));
      setTruncated(all.some((r) => r.truncated));
      setProblem(null);
    } catch (err) {
      setProblem(problemText(err));
    }
  }, [from, to, sharedShown]);
  useEffect(() => {
    api.request(calendarList, {}).then((r) => setCalendarId(r.calendars[0]?.id ?? null), (err: unknown) => setProblem(problemText(err)));
  }, []);
  const shown = useMemo(() => items.filter((o) => !cals?.hidden.has(o.calendarId)), [items, cals]);
  useEffect(() => void load(), [load]);

  const step = (dir: number) => setAnchor((a) => (view === 'month' ? new Date(a.getFullYear(), a.getMonth() + dir, 1) : addDays(a, dir * (view === 'day' ? 1 : view === 'week' ? 7 : 30))));
  useCalendarKeys(!editing && !help, {
    today: () => setAnchor(new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate())),
    step,
    view: setView,
    create: () => calendarId && setEditing({ date: iso(view === 'agenda' || view === 'day' ? anchor : from) }),
    help: () => setHelp(true),
  });
  const byDay = useMemo(() => {
    const m = new Map<string, OccurrenceView[]>();
    for (const o of shown) for (const d of daysOf(o)) m.set(d, [...(m.get(d) ?? []), o]);
    return m;
  }, [shown]);
  const dayLabel = (d: string, opts: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(i18n.language, opts).format(parseDate(d));
  const timeLabel = (o: OccurrenceView) => (o.allDay ? t('calendar.allDay') : `${o.localStart.slice(11)}–${o.localEnd.slice(11)}`);
  const title =
    view === 'month'
      ? new Intl.DateTimeFormat(i18n.language, { month: 'long', year: 'numeric' }).format(anchor)
      : view === 'day'
        ? dayLabel(iso(anchor), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })
        : `${dayLabel(iso(from), { day: 'numeric', month: 'short' })} – ${dayLabel(iso(addDays(to, -1)), { day: 'numeric', month: 'short', year: 'numeric' })}`;
  const chip = (o: OccurrenceView, key: string) => (
    <li key={key}>
      <button type="button" className="cal-event" style={{ borderLeftColor: o.color }} onClick={() => setEditing({ occurrence: o })}>
        <span className="cal-time">{timeLabel(o)}</span> <span className="cal-title">{o.title || t('calendar.untitled')}</span>
      </button>
    </li>
  );
  const days = Array.from({ length: Math.round((to.getTime() - from.getTime()) / 86_400_000) }, (_, i) => iso(addDays(from, i)));

  return (
    <div className="calendar">
      <header className="cal-bar">
        <button type="button" className="cal-link" onClick={onMail}>
          {t('calendar.backToMail')}
        </button>
        <h1>{t('calendar.title')}</h1>
        <div className="cal-nav" role="group" aria-label={t('calendar.navigate')}>
          <button type="button" onClick={() => step(-1)} aria-label={t('calendar.previous')}>
            ‹
          </button>
          <button type="button" onClick={() => setAnchor(new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate()))}>
            {t('calendar.today')}
          </button>
          <button type="button" onClick={() => step(1)} aria-label={t('calendar.next')}>
            ›
          </button>
        </div>
        <h2 className="cal-range">{title}</h2>
        <div className="cal-views" role="group" aria-label={t('calendar.viewChoice')}>
          {(['day', 'week', 'month', 'agenda'] as const).map((v) => (
            <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>
              {t(`calendar.views.${v}`)}
            </button>
          ))}
        </div>
        <button type="button" className="cal-new" disabled={!calendarId} onClick={() => setEditing({ date: iso(view === 'agenda' || view === 'day' ? anchor : from) })}>
          {t('calendar.newEvent')}
        </button>
      </header>
      <CalendarList onState={setCals} onChanged={() => void load()} />
      {problem && <p role="alert">{problem}</p>}
      {truncated && <p role="status">{t('calendar.truncated')}</p>}
      {(view === 'week' || view === 'day') && (
        <div className={view === 'day' ? 'cal-week cal-one-day' : 'cal-week'} tabIndex={0} role="group" aria-label={title}>
          {days.map((d) => (
            <section key={d} className={d === iso(new Date()) ? 'cal-day today' : 'cal-day'} aria-label={dayLabel(d, { weekday: 'long', day: 'numeric', month: 'long' })}>
              <h3>{dayLabel(d, { weekday: 'short', day: 'numeric' })}</h3>
              <DayColumn
                day={d}
                hours={d === days[0]}
                items={byDay.get(d) ?? []}
                label={(o) => (
                  <>
                    <span className="cal-time">{timeLabel(o)}</span> <span className="cal-title">{o.title || t('calendar.untitled')}</span>
                  </>
                )}
                onOpen={(o) => setEditing({ occurrence: o })}
                onCreate={(start, end) => calendarId && setEditing({ date: d, start, end })}
                onTimes={(o, start, end) => void saveTimes(o, start, end, zone).then(load, (err: unknown) => setProblem(problemText(err)))}
              />
            </section>
          ))}
        </div>
      )}
      {view === 'month' && (
        <div className="cal-month">
          {days.map((d) => (
            <section key={d} className={['cal-cell', d.slice(0, 7) === iso(anchor).slice(0, 7) ? '' : 'other', d === iso(new Date()) ? 'today' : ''].join(' ')} aria-label={dayLabel(d, { weekday: 'long', day: 'numeric', month: 'long' })}>
              <span className="cal-date">{Number(d.slice(8))}</span>
              <ul>{(byDay.get(d) ?? []).slice(0, 4).map((o) => chip(o, `${o.eventId}-${o.recurrenceId}`))}</ul>
              {(byDay.get(d)?.length ?? 0) > 4 && <span className="cal-more">{t('calendar.more', { count: byDay.get(d)!.length - 4 })}</span>}
            </section>
          ))}
        </div>
      )}
      {view === 'agenda' && (
        <div className="cal-agenda">
          {days.filter((d) => byDay.has(d)).length === 0 && <p>{t('calendar.nothing')}</p>}
          {days
            .filter((d) => byDay.has(d))
            .map((d) => (
              <section key={d} aria-label={dayLabel(d, { weekday: 'long', day: 'numeric', month: 'long' })}>
                <h3>{dayLabel(d, { weekday: 'long', day: 'numeric', month: 'long' })}</h3>
                <ul>{byDay.get(d)!.map((o) => chip(o, `${o.eventId}-${o.recurrenceId}`))}</ul>
              </section>
            ))}
        </div>
      )}
      {editing && calendarId && (
        <Editor
          calendarId={editing.occurrence?.calendarId ?? cals?.target ?? calendarId}
          occurrence={editing.occurrence}
          date={editing.date}
          startAt={editing.start}
          endAt={editing.end}
          onClose={(changed) => {
            setEditing(null);
            if (changed) void load();
          }}
        />
      )}
      {help && <CalendarShortcuts onClose={() => setHelp(false)} />}
    </div>
  );
}

type Repeat = 'none' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

/** Recurrence presets → RRULE (and back, for rules the presets can show). */
function ruleOf(repeat: Repeat, byDay: string[], ends: 'never' | 'until' | 'count', until: string, count: number): string | undefined {
  if (repeat === 'none') return undefined;
  const parts = [`FREQ=${repeat.toUpperCase()}`];
  if (repeat === 'weekly' && byDay.length) parts.push(`BYDAY=${byDay.join(',')}`);
  if (ends === 'until' && until) parts.push(`UNTIL=${until.replaceAll('-', '')}`);
  if (ends === 'count') parts.push(`COUNT=${count}`);
  return parts.join(';');
}

function Editor({ calendarId, occurrence, date, startAt, endAt, onClose }: { calendarId: string; occurrence?: OccurrenceView; date?: string; startAt?: string; endAt?: string; onClose: (changed: boolean) => void }) {
  const { t } = useTranslation();
  const dialog = useRef<HTMLDialogElement>(null);
  const [loaded, setLoaded] = useState(!occurrence);
  const [title, setTitle] = useState('');
  const [allDay, setAllDay] = useState(false);
  const [start, setStart] = useState(startAt ?? `${date ?? iso(new Date())}T09:00`);
  const [end, setEnd] = useState(endAt ?? `${date ?? iso(new Date())}T10:00`);
  const [attendees, setAttendees] = useState<Attendee[]>([]);
  const [organizer, setOrganizer] = useState<string | null>(null);
  const [tz, setTz] = useState(zone);
  const [location, setLocation] = useState('');
  const [description, setDescription] = useState('');
  const [repeat, setRepeat] = useState<Repeat>('none');
  const [byDay, setByDay] = useState<string[]>([]);
  const [ends, setEnds] = useState<'never' | 'until' | 'count'>('never');
  const [until, setUntil] = useState('');
  const [count, setCount] = useState(10);
  const [scope, setScope] = useState<'this' | 'following' | 'all'>('all');
  const [problem, setProblem] = useState<string | null>(null);
  const [reminders, setReminders] = useState<NonNullable<EventInput['reminders']>>([]);
  const [times, setTimes] = useState<{ series: { start: string; end: string; tz: string }; occurrence: { start: string; end: string; tz: string } } | null>(null);
  /** Switching the scope shows the times it edits: the series' start for "all", else this occurrence's. */
  const chooseScope = (next: 'this' | 'following' | 'all') => {
    setScope(next);
    if (!times) return;
    const shown = next === 'all' ? times.series : times.occurrence;
    setStart(shown.start);
    setEnd(shown.end);
    setTz(shown.tz);
  };
  const zones = useMemo(() => (typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [zone]), []);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  useEffect(() => {
    if (!occurrence) return;
    api.request(eventGet, { params: { id: occurrence.calendarId, eventId: occurrence.eventId } }).then(
      (e) => {
        setTitle(e.title);
        setAllDay(e.allDay);
        // The series' own times (scope "all") and this occurrence's, on the viewer's clock.
        const seriesTimes = { start: e.start, end: e.end, tz: e.startTz ?? zone };
        const occurrenceTimes = occurrence.allDay ? { start: occurrence.start, end: occurrence.end, tz: zone } : { start: occurrence.localStart, end: occurrence.localEnd, tz: zone };
        setTimes({ series: seriesTimes, occurrence: occurrenceTimes });
        const first = occurrence.recurring ? occurrenceTimes : seriesTimes;
        setStart(first.start);
        setEnd(first.end);
        setTz(first.tz);
        setLocation(e.location ?? '');
        setDescription(e.description ?? '');
        setAttendees(e.attendees);
        setReminders(e.reminders);
        setOrganizer(e.organizer?.email ?? null);
        if (e.rrule) {
          const m = Object.fromEntries(e.rrule.split(';').map((p) => p.split('=') as [string, string]));
          setRepeat((m.FREQ?.toLowerCase() as Repeat) ?? 'none');
          setByDay(m.BYDAY ? m.BYDAY.split(',') : []);
          if (m.UNTIL) {
            setEnds('until');
            setUntil(`${m.UNTIL.slice(0, 4)}-${m.UNTIL.slice(4, 6)}-${m.UNTIL.slice(6, 8)}`);
          } else if (m.COUNT) {
            setEnds('count');
            setCount(Number(m.COUNT));
          }
        }
        setScope(occurrence.recurring ? 'this' : 'all');
        setLoaded(true);
      },
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [occurrence]);

  const input = (): EventInput => {
    const presets = ruleOf(repeat, byDay, ends, until, count);
    return {
      title,
      allDay,
      start: allDay ? start.slice(0, 10) : start,
      end: allDay ? (end.slice(0, 10) > start.slice(0, 10) ? end.slice(0, 10) : iso(addDays(parseDate(start), 1))) : end,
      ...(allDay ? {} : { startTz: tz, endTz: tz }),
      ...(location ? { location } : {}),
      ...(description ? { description } : {}),
      attendees,
      reminders,
      ...(scope === 'this' && occurrence?.recurring ? {} : presets ? { rrule: presets } : {}),
    };
  };
  const save = async () => {
    setProblem(null);
    try {
      if (!occurrence) await api.request(eventCreate, { params: { id: calendarId }, body: input() });
      else await api.request(eventUpdate, { params: { id: calendarId, eventId: occurrence.eventId }, body: { scope: occurrence.recurring ? scope : 'all', ...(occurrence.recurring && scope !== 'all' ? { recurrenceId: occurrence.recurrenceId } : {}), event: input() } });
      onClose(true);
    } catch (err) {
      setProblem(problemText(err));
    }
  };
  const remove = async () => {
    if (!occurrence) return;
    try {
      await api.request(eventDelete, { params: { id: calendarId, eventId: occurrence.eventId }, query: occurrence.recurring && scope !== 'all' ? { scope, recurrenceId: occurrence.recurrenceId } : { scope: 'all' } });
      onClose(true);
    } catch (err) {
      setProblem(problemText(err));
    }
  };

  return (
    <dialog ref={dialog} className="cal-editor" aria-labelledby="cal-editor-title" onCancel={() => onClose(false)}>
      <form method="dialog" onSubmit={(e) => (e.preventDefault(), void save())}>
        <h2 id="cal-editor-title">{occurrence ? t('calendar.editEvent') : t('calendar.newEvent')}</h2>
        {!loaded && !problem && <p>{t('common.loading')}</p>}
        <label>
          {t('calendar.fields.title')}
          <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={500} autoFocus />
        </label>
        <label className="inline">
          <input type="checkbox" checked={allDay} onChange={(e) => setAllDay(e.target.checked)} />
          {t('calendar.allDay')}
        </label>
        <div className="row">
          <label>
            {t('calendar.fields.start')}
            <input type={allDay ? 'date' : 'datetime-local'} value={allDay ? start.slice(0, 10) : start} onChange={(e) => setStart(allDay ? `${e.target.value}T09:00` : e.target.value)} required />
          </label>
          <label>
            {t('calendar.fields.end')}
            <input type={allDay ? 'date' : 'datetime-local'} value={allDay ? end.slice(0, 10) : end} onChange={(e) => setEnd(allDay ? `${e.target.value}T10:00` : e.target.value)} required />
          </label>
        </div>
        {!allDay && (
          <label>
            {t('calendar.fields.timeZone')}
            <select value={tz} onChange={(e) => setTz(e.target.value)}>
              {(zones.includes(tz) ? zones : [tz, ...zones]).map((z) => (
                <option key={z}>{z}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t('calendarSched.reminder.label')}
          <select value={reminders[0]?.minutesBefore ?? -1} onChange={(e) => setReminders(Number(e.target.value) < 0 ? [] : [{ minutesBefore: Number(e.target.value), ...(reminders[0]?.byMail ? { byMail: true } : {}) }])}>
            {[-1, 0, 5, 10, 15, 30, 60, 1440].map((m) => (
              <option key={m} value={m}>
                {t(`calendarSched.reminder.m${m < 0 ? 'none' : m}`)}
              </option>
            ))}
          </select>
        </label>
        {reminders[0] && (
          <label className="check">
            <input type="checkbox" checked={!!reminders[0].byMail} onChange={(e) => setReminders([{ minutesBefore: reminders[0]!.minutesBefore, ...(e.target.checked ? { byMail: true } : {}) }])} /> {t('calendarSched.reminder.byMail')}
          </label>
        )}
        {!allDay && <Scheduling attendees={attendees} onAttendees={(a) => setAttendees(a.map((x) => ({ role: 'REQ-PARTICIPANT' as const, partstat: 'NEEDS-ACTION' as const, ...x })))} start={start} end={end} tz={tz} onPick={(s, e) => (setStart(s), setEnd(e))} />}
        <label>
          {t('calendar.fields.location')}
          <input value={location} onChange={(e) => setLocation(e.target.value)} maxLength={1000} />
        </label>
        <label>
          {t('calendar.fields.description')}
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={3} maxLength={20000} />
        </label>
        <AttendeesField key={loaded ? 'loaded' : 'loading'} attendees={attendees} organizer={organizer} onChange={setAttendees} />
        {!(occurrence?.recurring && scope === 'this') && (
          <fieldset>
            <legend>{t('calendar.fields.repeat')}</legend>
            <select aria-label={t('calendar.fields.repeat')} value={repeat} onChange={(e) => setRepeat(e.target.value as Repeat)}>
              {(['none', 'daily', 'weekly', 'monthly', 'yearly'] as const).map((r) => (
                <option key={r} value={r}>
                  {t(`calendar.repeat.${r}`)}
                </option>
              ))}
            </select>
            {repeat === 'weekly' && (
              <div className="weekdays" role="group" aria-label={t('calendar.fields.onDays')}>
                {WEEKDAYS.map((d) => (
                  <label key={d} className="inline">
                    <input type="checkbox" checked={byDay.includes(d)} onChange={(e) => setByDay(e.target.checked ? [...byDay, d] : byDay.filter((x) => x !== d))} />
                    {t(`calendar.weekdays.${d}`)}
                  </label>
                ))}
              </div>
            )}
            {repeat !== 'none' && (
              <div className="row">
                <select aria-label={t('calendar.fields.ends')} value={ends} onChange={(e) => setEnds(e.target.value as typeof ends)}>
                  <option value="never">{t('calendar.ends.never')}</option>
                  <option value="until">{t('calendar.ends.until')}</option>
                  <option value="count">{t('calendar.ends.count')}</option>
                </select>
                {ends === 'until' && <input type="date" aria-label={t('calendar.ends.until')} value={until} onChange={(e) => setUntil(e.target.value)} required />}
                {ends === 'count' && <input type="number" aria-label={t('calendar.ends.count')} min={1} max={1000} value={count} onChange={(e) => setCount(Number(e.target.value))} />}
              </div>
            )}
          </fieldset>
        )}
        {occurrence?.recurring && loaded && (
          <fieldset>
            <legend>{t('calendar.scope.label')}</legend>
            {(['this', 'following', 'all'] as const).map((s) => (
              <label key={s} className="inline">
                <input type="radio" name="scope" checked={scope === s} onChange={() => chooseScope(s)} />
                {t(`calendar.scope.${s}`)}
              </label>
            ))}
          </fieldset>
        )}
        {problem && <p role="alert">{problem}</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={!loaded}>
            {t('calendar.save')}
          </button>
          {occurrence && (
            <button type="button" onClick={() => void remove()}>
              {t('calendar.delete')}
            </button>
          )}
          <button type="button" onClick={() => onClose(false)}>
            {t('calendar.cancel')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
