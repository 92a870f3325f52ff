/**
 * The calendar's keyboard shortcuts (docs/calendar.md "Web client"): t today, j/n next and k/p
 * previous period, d/w/m/a the views, c a new event, ? this list. Not while typing in a field or
 * while a dialog is open.
 */
import { useLayoutEffect, useRef } from 'react';
import { ShortcutsDialog } from '../mail/Shortcuts';

type View = 'day' | 'week' | 'month' | 'agenda';
export const CALENDAR_SHORTCUTS: { keys: string[]; does: string }[] = [
  { keys: ['t'], does: 'calendarKeys.today' },
  { keys: ['j', 'n'], does: 'calendarKeys.next' },
  { keys: ['k', 'p'], does: 'calendarKeys.previous' },
  { keys: ['d'], does: 'calendarKeys.day' },
  { keys: ['w'], does: 'calendarKeys.week' },
  { keys: ['m'], does: 'calendarKeys.month' },
  { keys: ['a'], does: 'calendarKeys.agenda' },
  { keys: ['c'], does: 'calendarKeys.create' },
  { keys: ['?'], does: 'shortcuts.help' },
];

export function useCalendarKeys(active: boolean, act: { today: () => void; step: (dir: number) => void; view: (v: View) => void; create: () => void; help: () => void }) {
  const ref = useRef(act);
  ref.current = act;
  // A layout effect, so a key pressed just after a dialog closed is not lost (Preact runs plain
  // effects after paint).
  useLayoutEffect(() => {
    if (!active) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      const el = e.target as HTMLElement | null;
      if (el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) || el.closest('dialog'))) return;
      const a = ref.current;
      const views: Record<string, View> = { d: 'day', w: 'week', m: 'month', a: 'agenda' };
      if (e.key === 't') a.today();
      else if (e.key === 'j' || e.key === 'n') a.step(1);
      else if (e.key === 'k' || e.key === 'p') a.step(-1);
      else if (views[e.key]) a.view(views[e.key]!);
      else if (e.key === 'c') a.create();
      else if (e.key === '?') a.help();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [active]);
}

export function CalendarShortcuts({ onClose }: { onClose: () => void }) {
  return <ShortcutsDialog onClose={onClose} list={CALENDAR_SHORTCUTS} />;
}
