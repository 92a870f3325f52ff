/**
 * The scheduling view's arithmetic (docs/calendar.md "Free/busy and scheduling"): wall-clock times
 * of a zone to instants and back (through Intl, so DST is the browser's zone database's), and the
 * first free slots — computed here, in the browser, from the busy blocks the server gave for every
 * attendee and room. The server never learns which slot was proposed.
 */
export interface Interval {
  start: number;
  end: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsOf(instant: number, tz: string): Record<string, string> {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
}
const offsetMs = (instant: number, tz: string) => {
  const m = partsOf(instant, tz);
  return Date.UTC(Number(m.year), Number(m.month) - 1, Number(m.day), Number(m.hour), Number(m.minute), Number(m.second)) - Math.floor(instant / 1000) * 1000;
};

/** `YYYY-MM-DDTHH:mm` on the wall clock of `tz` → epoch ms (a time skipped by DST moves forward). */
export function wallToInstant(wall: string, tz: string): number {
  const guess = Date.parse(`${wall.slice(0, 16)}:00Z`);
  const first = guess - offsetMs(guess, tz);
  const second = guess - offsetMs(first, tz);
  return offsetMs(second, tz) === offsetMs(first, tz) ? first : Math.max(first, second);
}

/** Epoch ms → `YYYY-MM-DDTHH:mm` on the wall clock of `tz`. */
export function instantToWall(instant: number, tz: string): string {
  const m = partsOf(instant, tz);
  return `${m.year}-${m.month}-${m.day}T${m.hour}:${m.minute}`;
}

const overlaps = (list: Interval[], s: number, e: number) => list.some((b) => b.start < e && s < b.end);

/**
 * The first `count` slots of `durationMs`, starting at or after `from`, on working hours
 * [workStart, workEnd) of `tz` (weekdays only), in steps of `stepMinutes`, where no row is busy.
 */
export function firstFreeSlots(rows: Interval[][], durationMs: number, from: number, opts: { tz: string; days?: number; workStart?: number; workEnd?: number; stepMinutes?: number; count?: number }): Interval[] {
  const { tz, days = 14, workStart = 8, workEnd = 18, stepMinutes = 15, count = 3 } = opts;
  const out: Interval[] = [];
  const step = stepMinutes * 60_000;
  const startDay = instantToWall(from, tz).slice(0, 10);
  for (let d = 0; d < days && out.length < count; d++) {
    const date = new Date(Date.parse(`${startDay}T12:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10);
    const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    const dayStart = wallToInstant(`${date}T${String(workStart).padStart(2, '0')}:00`, tz);
    const dayEnd = wallToInstant(`${date}T${String(workEnd).padStart(2, '0')}:00`, tz);
    let s = Math.max(dayStart, Math.ceil(from / step) * step);
    for (; s + durationMs <= dayEnd && out.length < count; s += step) {
      if (rows.every((busy) => !overlaps(busy, s, s + durationMs))) {
        out.push({ start: s, end: s + durationMs });
        // The next proposal starts after this one.
        s += durationMs - step;
      }
    }
  }
  return out;
}
