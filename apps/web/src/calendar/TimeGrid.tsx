/**
 * One day of the week/day view as a time grid (docs/calendar.md "Web client"): all-day events on
 * top, timed ones placed by their times. With a pointer: drag on empty time to create (the editor
 * opens prefilled), drag an event to move it (to another day too), drag its bottom edge to resize.
 * Every event stays a button (Enter opens the editor, whose fields do the same by keyboard).
 */
import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { OccurrenceView } from '@sealmail/contract';
import { clock, columnAt, HOUR_PX, minuteAt, minutesOf, SNAP_MIN } from './drag';

const pad = (n: number) => String(n).padStart(2, '0');
/** A local `YYYY-MM-DDTHH:mm` moved by days and minutes (on the viewer's clock). */
export function shift(local: string, days: number, minutes: number): string {
  const d = new Date(Number(local.slice(0, 4)), Number(local.slice(5, 7)) - 1, Number(local.slice(8, 10)) + days, Number(local.slice(11, 13)), Number(local.slice(14, 16)) + minutes);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const dayDiff = (a: string, b: string) => Math.round((Date.UTC(+b.slice(0, 4), +b.slice(5, 7) - 1, +b.slice(8, 10)) - Date.UTC(+a.slice(0, 4), +a.slice(5, 7) - 1, +a.slice(8, 10))) / 86_400_000);
const snap = (px: number) => Math.round(((px / HOUR_PX) * 60) / SNAP_MIN) * SNAP_MIN;

export interface DayColumnProps {
  day: string;
  items: OccurrenceView[];
  /** The chip's text (time and title). */
  label: (o: OccurrenceView) => ReactNode;
  /** Whether this column shows the hour labels (the first one). */
  hours: boolean;
  onOpen: (o: OccurrenceView) => void;
  onCreate: (start: string, end: string) => void;
  /** A drag ended: save the occurrence's new times. */
  onTimes: (o: OccurrenceView, start: string, end: string) => void;
}

export function DayColumn({ day, items, label, hours, onOpen, onCreate, onTimes }: DayColumnProps) {
  const grid = useRef<HTMLDivElement>(null);
  const [preview, setPreview] = useState<{ from: number; to: number } | null>(null);
  const dragged = useRef(false);
  const allDay = items.filter((o) => o.allDay);
  const timed = items.filter((o) => !o.allDay);

  useLayoutEffect(() => {
    // The working day in view first (08:00), as calendars do.
    const scroller = grid.current?.closest('.cal-week');
    if (hours && scroller && scroller.scrollTop === 0) scroller.scrollTop = 8 * HOUR_PX;
  }, [hours]);

  /** Drag on empty time: a new event from the pressed time to the released one. */
  const startCreate = (e: React.PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0 || (e.target as HTMLElement).closest('.cal-timed li')) return;
    const column = grid.current!;
    const from = minuteAt(e.clientY, column);
    let to = from + 60;
    let moved = false;
    setPreview({ from, to });
    const move = (ev: PointerEvent) => {
      const m = minuteAt(ev.clientY, column);
      if (m !== from) moved = true;
      to = Math.max(from + SNAP_MIN, m);
      if (moved) setPreview({ from, to });
    };
    const cancel = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      window.removeEventListener('pointercancel', cancel);
      setPreview(null);
    };
    const up = () => {
      cancel();
      onCreate(`${day}T${clock(from)}`, `${day}T${clock(moved ? to : Math.min(1440, from + 60))}`);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    window.addEventListener('pointercancel', cancel);
    e.preventDefault();
  };

  /** Drag an event (body: move; bottom edge: resize). */
  const startDrag = (e: React.PointerEvent<HTMLElement>, o: OccurrenceView, mode: 'move' | 'resize') => {
    if (e.button !== 0) return;
    e.stopPropagation();
    const li = (e.currentTarget as HTMLElement).closest('li') as HTMLElement;
    const column = grid.current!;
    const x0 = e.clientX;
    const y0 = e.clientY;
    const h0 = li.getBoundingClientRect().height;
    const height0 = li.style.height;
    let target = day;
    let minutes = 0;
    dragged.current = false;
    const move = (ev: PointerEvent) => {
      const dx = ev.clientX - x0;
      const dy = ev.clientY - y0;
      if (!dragged.current && Math.abs(dx) + Math.abs(dy) < 5) return;
      dragged.current = true;
      // The event follows the pointer; the column under it is what counts.
      li.style.pointerEvents = 'none';
      minutes = snap(dy);
      if (mode === 'resize') {
        li.style.height = `${Math.max((SNAP_MIN / 60) * HOUR_PX, h0 + (minutes / 60) * HOUR_PX)}px`;
        return;
      }
      const col = columnAt(ev.clientX, ev.clientY);
      target = col?.dataset.day ?? target;
      const shiftX = col ? col.getBoundingClientRect().left - column.getBoundingClientRect().left : 0;
      li.style.transform = `translate(${shiftX}px, ${(minutes / 60) * HOUR_PX}px)`;
      li.classList.add('dragging');
    };
    /** A touch the browser took over for scrolling: nothing changes. */
    const cancel = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      window.removeEventListener('pointercancel', cancel);
      li.classList.remove('dragging');
      li.style.transform = '';
      li.style.height = height0;
      li.style.pointerEvents = '';
      dragged.current = false;
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      window.removeEventListener('pointercancel', cancel);
      li.classList.remove('dragging');
      li.style.pointerEvents = '';
      if (!dragged.current) return;
      // The click that may follow a drag is not an "open"; later clicks are.
      setTimeout(() => (dragged.current = false), 0);
      if (mode === 'resize') {
        const duration = Math.max(SNAP_MIN, minutesBetween(o.localStart, o.localEnd) + minutes);
        onTimes(o, o.localStart, shift(o.localStart, 0, duration));
      } else {
        const days = dayDiff(day, target);
        if (days === 0 && minutes === 0) {
          li.style.transform = '';
          return;
        }
        onTimes(o, shift(o.localStart, days, minutes), shift(o.localEnd, days, minutes));
      }
      // The grid re-renders from the saved times; the drag's own offsets go.
      li.style.transform = '';
      li.style.height = height0;
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    window.addEventListener('pointercancel', cancel);
  };

  return (
    <>
      {allDay.length > 0 && (
        <ul>
          {allDay.map((o) => (
            <li key={`${o.eventId}-${o.recurrenceId}`}>
              <button type="button" className="cal-event" style={{ borderLeftColor: o.color }} onClick={() => onOpen(o)}>
                {label(o)}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div ref={grid} className={hours ? 'cal-grid hours' : 'cal-grid'} data-day={day} style={{ height: `${24 * HOUR_PX}px` }} onPointerDown={startCreate}>
        {Array.from({ length: 24 }, (_, h) => (
          <div key={h} className="cal-hour" style={{ top: `${h * HOUR_PX}px` }}>
            {hours && h > 0 && <span className="cal-hour-label">{`${pad(h)}:00`}</span>}
          </div>
        ))}
        <ul className="cal-timed">
          {timed.map((o) => {
            const from = o.localStart.slice(0, 10) < day ? 0 : minutesOf(o.localStart);
            const to = o.localEnd.slice(0, 10) > day ? 1440 : minutesOf(o.localEnd);
            return (
              <li key={`${o.eventId}-${o.recurrenceId}`} style={{ top: `${(from / 60) * HOUR_PX}px`, height: `${Math.max(SNAP_MIN, to - from) / 60 * HOUR_PX}px` }}>
                <button
                  type="button"
                  className="cal-event"
                  style={{ borderLeftColor: o.color }}
                  onPointerDown={(e) => startDrag(e, o, 'move')}
                  onClick={() => {
                    if (dragged.current) dragged.current = false;
                    else onOpen(o);
                  }}
                >
                  {label(o)}
                </button>
                <span className="cal-resize" aria-hidden="true" onPointerDown={(e) => startDrag(e, o, 'resize')} />
              </li>
            );
          })}
        </ul>
        {preview && <div className="cal-preview" style={{ top: `${(preview.from / 60) * HOUR_PX}px`, height: `${((preview.to - preview.from) / 60) * HOUR_PX}px` }} aria-hidden="true" />}
      </div>
    </>
  );
}

function minutesBetween(a: string, b: string): number {
  return dayDiff(a.slice(0, 10), b.slice(0, 10)) * 1440 + minutesOf(b) - minutesOf(a);
}
