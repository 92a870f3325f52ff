/**
 * The list of calendars beside the Calendar view (docs/calendar.md "Web client"): the user's own
 * calendars with their colours (show/hide, create, rename, recolour, delete, import an .ics into
 * one, export, a subscription feed URL to copy or revoke) and the calendars colleagues shared with
 * them (delegation), plus which calendar new events go into — an assistant picks the manager's.
 */
import { useCallback, useEffect, useState } from 'react';
import { describeError, useTranslation } from '@sealmail/ui';
import { calendarCreate, calendarDelete, calendarFeedCreate, calendarFeedRevoke, calendarImport, calendarList, calendarUpdate, sharedCalendarList, type CalendarView, type SharedCalendarView } from '@sealmail/contract';
import { api } from '../SignIn';

export interface CalendarChoice {
  id: string;
  name: string;
  color: string;
  /** owner: the user's own; view/manage: shared with them. */
  level: 'owner' | 'view' | 'manage';
  ownerName?: string;
}
export interface CalendarState {
  calendars: CalendarChoice[];
  hidden: ReadonlySet<string>;
  /** Where new events go. */
  target: string | null;
}

const HIDDEN_KEY = 'sealmail.calendar.hidden';
const TARGET_KEY = 'sealmail.calendar.target';
/** Whether the list is open: closed until the user opens it (it would take a third of the view), then as they left it on this device. */
const OPEN_KEY = 'sealmail.calendar.listOpen';
const readHidden = () => {
  try {
    return new Set<string>(JSON.parse(localStorage.getItem(HIDDEN_KEY) ?? '[]') as string[]);
  } catch {
    return new Set<string>();
  }
};

export function CalendarList({ onState, onChanged }: { onState: (s: CalendarState) => void; onChanged: () => void }) {
  const { t } = useTranslation();
  const [own, setOwn] = useState<CalendarView[]>([]);
  const [shared, setShared] = useState<SharedCalendarView[]>([]);
  const [open, setOpen] = useState(() => localStorage.getItem(OPEN_KEY) === '1');
  const [hidden, setHidden] = useState<Set<string>>(readHidden);
  const [target, setTarget] = useState<string | null>(() => localStorage.getItem(TARGET_KEY));
  const [editing, setEditing] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  const [newColor, setNewColor] = useState('#2e7d32');

  const load = useCallback(async () => {
    try {
      const [a, b] = await Promise.all([api.request(calendarList, {}), api.request(sharedCalendarList, {})]);
      setOwn(a.calendars);
      setShared(b.calendars);
    } catch (err) {
      setProblem(describeError(err));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const choices: CalendarChoice[] = [...own.map((c) => ({ id: c.id, name: c.name, color: c.color, level: 'owner' as const })), ...shared.map((c) => ({ id: c.id, name: c.name, color: c.color, level: c.level, ownerName: c.owner.name }))];
  const writable = choices.filter((c) => c.level !== 'view');
  const effectiveTarget = writable.some((c) => c.id === target) ? target : (writable[0]?.id ?? null);
  const key = JSON.stringify([choices, [...hidden], effectiveTarget]);
  useEffect(() => onState({ calendars: choices, hidden, target: effectiveTarget }), [key]);

  const toggle = (id: string, show: boolean) => {
    const next = new Set(hidden);
    if (show) next.delete(id);
    else next.add(id);
    setHidden(next);
    localStorage.setItem(HIDDEN_KEY, JSON.stringify([...next]));
  };
  const act = async (what: () => Promise<unknown>, done?: string) => {
    setProblem(null);
    setNote(null);
    try {
      await what();
      if (done) setNote(done);
      await load();
      onChanged();
    } catch (err) {
      setProblem(describeError(err));
    }
  };

  return (
    <details
      className="cal-list"
      open={open}
      onToggle={(e) => {
        const now = e.currentTarget.open;
        setOpen(now);
        localStorage.setItem(OPEN_KEY, now ? '1' : '0');
      }}
    >
      <summary>{t('calendarSched.list.title', { count: choices.length })}</summary>
      <ul aria-label={t('calendarSched.list.mine')}>
        {own.map((c) => (
          <li key={c.id}>
            <div className="cal-list-row">
              <label className="inline">
                <input type="checkbox" checked={!hidden.has(c.id)} onChange={(e) => toggle(c.id, e.target.checked)} />
                <span className="swatch" style={{ background: c.color }} aria-hidden="true" />
                {c.name}
              </label>
              <button type="button" aria-expanded={editing === c.id} aria-label={t('calendarSched.list.manage', { name: c.name })} onClick={() => setEditing(editing === c.id ? null : c.id)}>
                {t('calendarSched.list.edit')}
              </button>
            </div>
            {editing === c.id && <CalendarSettings calendar={c} act={act} />}
          </li>
        ))}
      </ul>
      {shared.length > 0 && (
        <ul aria-label={t('calendarSched.list.shared')}>
          {shared.map((c) => (
            <li key={c.id} className="cal-list-row">
              <label className="inline">
                <input type="checkbox" checked={!hidden.has(c.id)} onChange={(e) => toggle(c.id, e.target.checked)} />
                <span className="swatch" style={{ background: c.color }} aria-hidden="true" />
                {t('calendarSched.list.sharedName', { name: c.name, owner: c.owner.name })}
                <span className="cal-level">{t(`calendarSched.level.${c.level}`)}</span>
              </label>
            </li>
          ))}
        </ul>
      )}
      <label className="cal-target">
        {t('calendarSched.list.target')}
        <select
          value={effectiveTarget ?? ''}
          onChange={(e) => {
            setTarget(e.target.value);
            localStorage.setItem(TARGET_KEY, e.target.value);
          }}
        >
          {writable.map((c) => (
            <option key={c.id} value={c.id}>
              {c.ownerName ? t('calendarSched.list.sharedName', { name: c.name, owner: c.ownerName }) : c.name}
            </option>
          ))}
        </select>
      </label>
      <form
        className="cal-list-new"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await api.request(calendarCreate, { body: { name: newName, color: newColor } });
            setNewName('');
          });
        }}
      >
        <label>
          {t('calendarSched.list.newName')}
          <input value={newName} onChange={(e) => setNewName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          {t('calendarSched.list.color')}
          <input type="color" value={newColor} onChange={(e) => setNewColor(e.target.value)} />
        </label>
        <button type="submit">{t('calendarSched.list.add')}</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
      {note && <p role="status">{note}</p>}
    </details>
  );
}

function CalendarSettings({ calendar, act }: { calendar: CalendarView; act: (what: () => Promise<unknown>, done?: string) => Promise<void> }) {
  const { t } = useTranslation();
  const [name, setName] = useState(calendar.name);
  const [color, setColor] = useState(calendar.color);
  const [feed, setFeed] = useState<string | null>(null);
  const id = calendar.id;
  return (
    <div className="cal-settings">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => api.request(calendarUpdate, { params: { id }, body: { name, color } }), t('calendarSched.list.saved'));
        }}
      >
        <label>
          {t('calendarSched.list.name')}
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          {t('calendarSched.list.color')}
          <input type="color" value={color} onChange={(e) => setColor(e.target.value)} />
        </label>
        <button type="submit">{t('calendarSched.list.save')}</button>
      </form>
      <label>
        {t('calendarSched.list.import')}
        <input
          type="file"
          accept=".ics,text/calendar"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            void act(async () => {
              const r = await api.request(calendarImport, { params: { id }, body: { ics: await file.text() } });
              return r;
            }, t('calendarSched.list.imported', { name: file.name }));
          }}
        />
      </label>
      <p>
        <a href={`/api/v1/calendars/${id}/export`} download={`${calendar.name || 'calendar'}.ics`}>
          {t('calendarSched.list.export')}
        </a>
      </p>
      <div className="cal-feed">
        <button type="button" onClick={() => void act(async () => setFeed((await api.request(calendarFeedCreate, { params: { id } })).url))}>
          {calendar.hasFeed ? t('calendarSched.list.feedReplace') : t('calendarSched.list.feedMake')}
        </button>
        {calendar.hasFeed && (
          <button type="button" onClick={() => void act(async () => (await api.request(calendarFeedRevoke, { params: { id } }), setFeed(null)), t('calendarSched.list.feedRevoked'))}>
            {t('calendarSched.list.feedRevoke')}
          </button>
        )}
        {feed && (
          <label>
            {t('calendarSched.list.feedUrl')}
            <input readOnly value={feed} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" onClick={() => void navigator.clipboard?.writeText(feed)}>
              {t('calendarSched.list.copy')}
            </button>
          </label>
        )}
      </div>
      {!calendar.isDefault && (
        <button type="button" className="danger" onClick={() => confirm(t('calendarSched.list.deleteConfirm', { name: calendar.name })) && void act(() => api.request(calendarDelete, { params: { id } }))}>
          {t('calendarSched.list.delete')}
        </button>
      )}
    </div>
  );
}
