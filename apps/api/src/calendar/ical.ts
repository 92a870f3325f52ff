/**
 * iCalendar for the calendar (docs/calendar.md): parsing and writing with ical.js, recurrence
 * expansion with ical.js's RecurExpansion (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides), in the
 * event's own time zone, bounded by hard caps so no recurrence can keep a process busy.
 *
 * A series is kept as its master VEVENT plus its overrides (same UID, RECURRENCE-ID), exactly as
 * they were written or imported, so a round trip loses nothing this code does not understand.
 */
import ICAL from 'ical.js';
import { ianaForTzid, wallClock, zoneFor } from './zones';

export type IcsProblem = 'malformed' | 'zone' | 'recurrence';

/** Bad iCalendar input; `message` names what is wrong. */
export class IcsError extends Error {
  constructor(
    readonly problem: IcsProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The registry code of an {@link IcsError}. */
export const icsErrorCode = (err: IcsError): 'CALENDAR_UNKNOWN_TIME_ZONE' | 'CALENDAR_RECURRENCE_INVALID' | 'CALENDAR_ICS_INVALID' =>
  err.problem === 'zone' ? 'CALENDAR_UNKNOWN_TIME_ZONE' : err.problem === 'recurrence' ? 'CALENDAR_RECURRENCE_INVALID' : 'CALENDAR_ICS_INVALID';

/** Hard caps of one expansion (per query). */
export interface ExpansionBudget {
  /** Occurrences returned at most; more: `truncated`. */
  maxOccurrences: number;
  /** Recurrence steps taken at most (all series together); more: `truncated`. */
  maxIterations: number;
}
export const DEFAULT_BUDGET: ExpansionBudget = { maxOccurrences: 10_000, maxIterations: 1_000_000 };
/** Recurrence steps one series may take in one expansion (a rule from 1970 stepping hourly stops here). */
export const SERIES_ITERATIONS = 50_000;
/** Steps one series may take when its span is computed (store time). */
const SPAN_ITERATIONS = 20_000;
/** Frequencies refused: a calendar event repeating every second or minute is not a calendar event. */
const REFUSED_FREQ = new Set(['SECONDLY', 'MINUTELY']);

/**
 * Candidate dates one step of a rule may pass over before the rule is taken to match nothing:
 * about eleven years of days or weeks (every 29 February, every Friday the 13th fits), thirteen
 * months of hours. ical.js looks for the next date of a DAILY, WEEKLY or HOURLY rule by stepping
 * until the rule's BY-parts all hold, with no bound (it gives up only for MONTHLY and YEARLY):
 * `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30` kept one step — and the process's event loop — going for
 * ever, so the step budgets above never had a say.
 */
export const MAX_CANDIDATES_PER_STEP = { HOURLY: 9_600, other: 4_000 } as const;

/** A rule stepped over {@link MAX_CANDIDATES_PER_STEP} dates without one that matches. */
export class RecurrenceMatchesNothing extends Error {}

const skipped = new WeakMap<ICAL.RecurIterator, number>();
const iteratorProto = ICAL.RecurIterator.prototype;
const contracting = iteratorProto.check_contracting_rules;
if (typeof contracting !== 'function') throw new Error('ical.js: RecurIterator.check_contracting_rules is gone; the recurrence guard of calendar/ical.ts needs another hook');
// Counts the dates each step passes over (the check runs once per candidate) and stops a step at the cap.
iteratorProto.check_contracting_rules = function (this: ICAL.RecurIterator): boolean {
  const ok = contracting.call(this);
  if (ok) skipped.delete(this);
  else {
    const n = (skipped.get(this) ?? 0) + 1;
    const cap = this.rule.freq === 'HOURLY' ? MAX_CANDIDATES_PER_STEP.HOURLY : MAX_CANDIDATES_PER_STEP.other;
    if (n > cap) {
      skipped.delete(this);
      throw new RecurrenceMatchesNothing(`RRULE ${this.rule.toString().slice(0, 120)} matches no date in ${cap} ${this.rule.freq === 'HOURLY' ? 'hours' : this.rule.freq === 'WEEKLY' ? 'weeks' : 'days'} after ${this.last.toString()}: it would never repeat (is there a date such as 30 February in it?)`);
    }
    skipped.set(this, n);
  }
  return ok;
};

/** An error of ical.js's recurrence code (a rule it refuses only when stepping, or the guard above) as bad input. */
export function recurrenceProblem(err: unknown, where = ''): IcsError {
  if (err instanceof IcsError) return err;
  const message = err instanceof RecurrenceMatchesNothing ? err.message : `RRULE cannot be expanded: ${(err instanceof Error ? err.message : String(err)).slice(0, 160)}`;
  return new IcsError('recurrence', where ? `${where}: ${message}` : message);
}

type JCal = [string, [string, Record<string, unknown>, string, ...unknown[]][], JCal[]];

/** Every property with a TZID parameter gets its IANA name; unknown zones are refused. */
function normaliseZones(jcal: JCal, path: string): void {
  for (const prop of jcal[1]) {
    const params = prop[1];
    if (typeof params.tzid === 'string') {
      const iana = ianaForTzid(params.tzid);
      if (!iana) throw new IcsError('zone', `${path}: unknown time zone "${params.tzid.slice(0, 80)}" in ${prop[0].toUpperCase()}`);
      params.tzid = iana;
    }
  }
  jcal[2].forEach((c, i) => normaliseZones(c, `${path}/${c[0].toUpperCase()}[${i}]`));
}

/** Parses iCalendar text into a VCALENDAR component, with every TZID mapped to an IANA zone. */
export function parseIcs(text: string): ICAL.Component {
  let jcal: unknown;
  try {
    jcal = ICAL.parse(text);
  } catch (err) {
    throw new IcsError('malformed', `not valid iCalendar: ${(err as Error).message.slice(0, 200)}`);
  }
  if (!Array.isArray(jcal) || jcal.length === 0) throw new IcsError('malformed', 'not valid iCalendar: no VCALENDAR');
  const root = (Array.isArray(jcal[0]) ? jcal[0] : jcal) as JCal;
  if (root[0] !== 'vcalendar') throw new IcsError('malformed', `not valid iCalendar: expected VCALENDAR, found ${String(root[0]).toUpperCase()}`);
  // Zone definitions of the file are replaced by the IANA database's (Outlook's carry Windows names).
  root[2] = root[2].filter((c) => c[0] !== 'vtimezone');
  normaliseZones(root, 'VCALENDAR');
  return new ICAL.Component(root as unknown[]);
}

/** The VEVENTs of a calendar grouped into series by UID (master first, then overrides). */
export function seriesOf(cal: ICAL.Component): ICAL.Component[][] {
  const byUid = new Map<string, ICAL.Component[]>();
  for (const [i, ev] of cal.getAllSubcomponents('vevent').entries()) {
    const uid = ev.getFirstPropertyValue('uid');
    if (typeof uid !== 'string' || uid.length === 0) throw new IcsError('malformed', `VEVENT[${i}]: no UID`);
    if (uid.length > 1000) throw new IcsError('malformed', `VEVENT[${i}]: UID longer than 1000 characters`);
    if (!ev.getFirstProperty('dtstart')) throw new IcsError('malformed', `VEVENT[${i}] (UID ${uid.slice(0, 60)}): no DTSTART`);
    try {
      checkTimes(ev, `VEVENT[${i}] (UID ${uid.slice(0, 60)})`);
    } catch (err) {
      if (err instanceof IcsError) throw err;
      throw new IcsError('malformed', `VEVENT[${i}] (UID ${uid.slice(0, 60)}): ${(err as Error).message.slice(0, 160)}`);
    }
    const list = byUid.get(uid) ?? [];
    list.push(ev);
    byUid.set(uid, list);
  }
  const out: ICAL.Component[][] = [];
  for (const list of byUid.values()) {
    list.sort((a, b) => Number(a.hasProperty('recurrence-id')) - Number(b.hasProperty('recurrence-id')));
    out.push(list);
  }
  return out;
}

/** Decodes the time values and the recurrence rules now, so a bad one is named, not thrown later. */
function checkTimes(ev: ICAL.Component, where: string): void {
  for (const name of ['dtstart', 'dtend', 'recurrence-id', 'exdate', 'rdate']) {
    for (const p of ev.getAllProperties(name)) {
      let values: unknown[];
      try {
        values = p.getValues();
      } catch (err) {
        throw new IcsError('malformed', `${where}: ${name.toUpperCase()}: ${(err as Error).message.slice(0, 120)}`);
      }
      for (const v of values) {
        if (!(v instanceof ICAL.Time) && !(v instanceof ICAL.Period)) throw new IcsError('malformed', `${where}: ${name.toUpperCase()} is not a date or date-time`);
        const t = v instanceof ICAL.Period ? v.start : v;
        if (!t || Number.isNaN(t.toUnixTime()) || t.year < 1000 || t.year > 9999) throw new IcsError('malformed', `${where}: ${name.toUpperCase()} is not a valid date`);
      }
    }
  }
  const dur = ev.getFirstPropertyValue('duration');
  if (dur !== null && !(dur instanceof ICAL.Duration)) throw new IcsError('malformed', `${where}: DURATION is not a duration`);
  for (const p of ev.getAllProperties('rrule')) {
    const r = p.getFirstValue();
    if (!(r instanceof ICAL.Recur) || !r.freq) throw new IcsError('recurrence', `${where}: RRULE has no valid FREQ`);
    if (REFUSED_FREQ.has(r.freq)) throw new IcsError('recurrence', `${where}: RRULE FREQ=${r.freq} is not accepted (at most hourly)`);
    if (r.interval < 1 || r.interval > 1000) throw new IcsError('recurrence', `${where}: RRULE INTERVAL must be 1 to 1000`);
    if (r.count !== null && r.count !== undefined && (r.count < 1 || r.count > 100_000)) throw new IcsError('recurrence', `${where}: RRULE COUNT must be 1 to 100000`);
  }
}

/** Checks an RRULE value as the editor sends it ("FREQ=WEEKLY;BYDAY=MO"). */
export function parseRrule(value: string): ICAL.Recur {
  let r: ICAL.Recur;
  try {
    r = ICAL.Recur.fromString(value);
  } catch (err) {
    throw new IcsError('recurrence', `RRULE: ${(err as Error).message.slice(0, 200)}`);
  }
  if (!r.freq) throw new IcsError('recurrence', 'RRULE: FREQ is missing');
  if (REFUSED_FREQ.has(r.freq)) throw new IcsError('recurrence', `RRULE: FREQ=${r.freq} is not accepted (at most hourly)`);
  if (r.interval < 1 || r.interval > 1000) throw new IcsError('recurrence', 'RRULE: INTERVAL must be 1 to 1000');
  if (r.count !== null && r.count !== undefined && (r.count < 1 || r.count > 100_000)) throw new IcsError('recurrence', 'RRULE: COUNT must be 1 to 100000');
  return r;
}

/** One occurrence as the API gives it. */
export interface Occurrence {
  uid: string;
  /** The occurrence's original start, as RECURRENCE-ID would name it (`ridString`). */
  recurrenceId: string;
  allDay: boolean;
  /** Timed: UTC instants; all-day: dates (end exclusive). */
  start: string;
  end: string;
  /** Zone of the start (IANA), null: all-day or floating. */
  tz: string | null;
  isException: boolean;
  recurring: boolean;
  component: ICAL.Component;
}

const utcDate = (t: ICAL.Time, viewer: ICAL.Timezone): Date => {
  if (t.zone === ICAL.Timezone.localTimezone || !t.zone) {
    // Floating time: read on the viewer's wall clock.
    return new Date(withZone(t, viewer).toUnixTime() * 1000);
  }
  return new Date(t.toUnixTime() * 1000);
};
/** The same wall-clock time in another zone (a fresh Time: ical.js caches the unix time). */
const withZone = (t: ICAL.Time, zone: ICAL.Timezone) => ICAL.Time.fromData({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second, isDate: t.isDate }, zone);
const dateString = (t: ICAL.Time) => `${String(t.year).padStart(4, '0')}-${String(t.month).padStart(2, '0')}-${String(t.day).padStart(2, '0')}`;

/** The RECURRENCE-ID form of an occurrence start: `2026-03-02`, `2026-03-02T09:00:00` or `…Z`. */
export function ridString(t: ICAL.Time): string {
  return t.isDate ? dateString(t) : t.toString().replace(/\.\d+/, '');
}

/** The Time a RECURRENCE-ID string names, in the master's form (zone, date or date-time). */
export function ridTime(master: ICAL.Component, rid: string): ICAL.Time {
  const start = master.getFirstPropertyValue('dtstart') as ICAL.Time;
  let t: ICAL.Time;
  try {
    t = ICAL.Time.fromString(rid.replace(/Z$/, ''), undefined as unknown as ICAL.Property);
  } catch {
    throw new IcsError('malformed', `recurrenceId "${rid.slice(0, 40)}" is not a date or date-time`);
  }
  if (Number.isNaN(t.toUnixTime())) throw new IcsError('malformed', `recurrenceId "${rid.slice(0, 40)}" is not a date or date-time`);
  if (start.isDate !== t.isDate) throw new IcsError('malformed', `recurrenceId "${rid.slice(0, 40)}" must be a ${start.isDate ? 'date' : 'date-time'} like the series start`);
  if (rid.endsWith('Z')) {
    t = withZone(t, ICAL.Timezone.utcTimezone);
    if (start.zone && start.zone !== ICAL.Timezone.utcTimezone && start.zone !== ICAL.Timezone.localTimezone) t = t.convertToZone(start.zone);
  } else if (!t.isDate && start.zone) t = withZone(t, start.zone);
  return t;
}

/** The viewer's local dates of an instant range [from, to) (for all-day occurrences). */
export function viewerDates(from: Date, to: Date, tz: string): { fromDate: string; toDate: string } {
  return { fromDate: wallClock(from, tz).slice(0, 10), toDate: wallClock(new Date(to.getTime() - 1), tz).slice(0, 10) };
}

/** An ical.js Event for a series (master with its overrides related). */
function eventOf(series: ICAL.Component[]): ICAL.Event {
  const master = series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
  const ev = new ICAL.Event(master, { strictExceptions: false });
  for (const c of series) if (c !== master && c.hasProperty('recurrence-id')) ev.relateException(c);
  return ev;
}

/**
 * The occurrences of the series between `from` and `to` (UTC instants; all-day events: the
 * viewer's local dates of that range), expanded in the event's own zone; floating times are read
 * in the viewer's zone. Stops at the budget and says so.
 */
export function expandSeries(series: ICAL.Component[], from: Date, to: Date, viewerZone: string, budget: { occurrences: number; iterations: number }, fromDate: string, toDate: string): { occurrences: Occurrence[]; truncated: boolean } {
  const viewer = zoneFor(viewerZone) ?? ICAL.Timezone.utcTimezone;
  const ev = eventOf(series);
  const out: Occurrence[] = [];
  const uid = ev.uid;
  const push = (start: ICAL.Time, end: ICAL.Time, rid: ICAL.Time, item: ICAL.Event, recurring: boolean): boolean => {
    if (start.isDate) {
      const s = dateString(start);
      const e = end.isDate ? dateString(end) : s;
      if (!(s <= toDate && e > fromDate)) return false;
      out.push({ uid, recurrenceId: ridString(rid), allDay: true, start: s, end: e, tz: null, isException: item !== ev, recurring, component: item.component });
    } else {
      const s = utcDate(start, viewer);
      const e = utcDate(end, viewer);
      if (!(e > from && s < to) && !(s.getTime() === e.getTime() && s >= from && s < to)) return false;
      const tzid = start.zone && start.zone !== ICAL.Timezone.localTimezone ? start.zone.tzid : null;
      out.push({ uid, recurrenceId: ridString(rid), allDay: false, start: s.toISOString(), end: e.toISOString(), tz: tzid, isException: item !== ev, recurring, component: item.component });
    }
    return true;
  };
  const fixEnd = (start: ICAL.Time, end: ICAL.Time | null): ICAL.Time => {
    if (end && (start.isDate ? end.isDate && end.compare(start) > 0 : end.compare(start) >= 0)) return end;
    const e = start.clone();
    if (start.isDate) e.day += 1;
    return e;
  };
  if (!ev.isRecurring()) {
    const start = ev.startDate;
    push(start, fixEnd(start, ev.endDate), start, ev, false);
    return { occurrences: out, truncated: false };
  }
  // Overrides may move an occurrence away from its original slot: look that far past the range.
  let shiftMs = 0;
  for (const c of series) {
    if (!c.hasProperty('recurrence-id')) continue;
    const rid = c.getFirstPropertyValue('recurrence-id') as ICAL.Time;
    const st = c.getFirstPropertyValue('dtstart') as ICAL.Time;
    shiftMs = Math.max(shiftMs, Math.abs(utcDate(rid, viewer).getTime() - utcDate(st, viewer).getTime()));
  }
  let durMs = 0;
  for (const c of series) {
    const e = new ICAL.Event(c);
    durMs = Math.max(durMs, e.duration ? e.duration.toSeconds() * 1000 : 0);
  }
  const stopAt = to.getTime() + shiftMs + 2 * 86_400_000;
  // Steps whose occurrence ends well before the range are skipped without building details.
  const skipBefore = from.getTime() - shiftMs - durMs - 2 * 86_400_000;
  let truncated = false;
  let steps = 0;
  // A rule stored before the recurrence guard (or one that matches nothing only years on) stops
  // its own series where it fails, truncated; the other series of the query still answer.
  const stepped = (f: () => ICAL.Time | null): ICAL.Time | null | 'failed' => {
    try {
      return f();
    } catch {
      return 'failed';
    }
  };
  let it: ICAL.RecurExpansion | null = null;
  for (;;) {
    if (budget.iterations <= 0 || ++steps > SERIES_ITERATIONS) {
      truncated = true;
      break;
    }
    budget.iterations -= 1;
    const next = stepped(() => (it ??= ev.iterator()).next());
    if (next === 'failed') {
      truncated = true;
      break;
    }
    if (!next) break;
    const at = utcDate(next, viewer).getTime();
    if (at >= stopAt) break;
    if (at < skipBefore) continue;
    const d = ev.getOccurrenceDetails(next);
    if (push(d.startDate, fixEnd(d.startDate, d.endDate), d.recurrenceId, d.item, true)) {
      if (--budget.occurrences <= 0) {
        truncated = true;
        break;
      }
    }
  }
  return { occurrences: out, truncated };
}

/** What is kept in the clear for a series: its span, recurrence lines and transparency. */
export interface SeriesSummary {
  uid: string;
  startUtc: Date;
  endUtc: Date | null;
  recurrence: string | null;
  transparent: boolean;
}

export function summarise(series: ICAL.Component[]): SeriesSummary {
  const ev = eventOf(series);
  const utc = ICAL.Timezone.utcTimezone;
  const master = ev.component;
  const lines = ['rrule', 'rdate', 'exdate'].flatMap((n) => master.getAllProperties(n).map((p) => p.toICALString()));
  const transparent = String(master.getFirstPropertyValue('transp') ?? '').toUpperCase() === 'TRANSPARENT';
  let start = utcDate(ev.startDate, utc);
  const endOf = (s: ICAL.Time, e: ICAL.Time | null) => utcDate(e && e.compare(s) > 0 ? e : s.isDate ? (() => { const x = s.clone(); x.day += 1; return x; })() : s, utc);
  let end: Date | null = endOf(ev.startDate, ev.endDate);
  for (const c of series) {
    if (c === master) continue;
    const ce = new ICAL.Event(c);
    if (utcDate(ce.startDate, utc) < start) start = utcDate(ce.startDate, utc);
  }
  if (ev.isRecurring()) {
    const rules = master.getAllProperties('rrule').map((p) => p.getFirstValue() as ICAL.Recur);
    try {
      const it = ev.iterator();
      if (rules.some((r) => !r.count && !r.until)) {
        // Open-ended: no span to find, but the rule must step at all (the first date is DTSTART,
        // the second shows the rule matches something), or every later view would fail on it.
        it.next();
        it.next();
        end = null;
      } else {
        let steps = 0;
        let next: ICAL.Time | null;
        while ((next = it.next())) {
          if (++steps > SPAN_ITERATIONS) {
            end = null;
            break;
          }
          const d = ev.getOccurrenceDetails(next);
          const e = endOf(d.startDate, d.endDate);
          if (end && e > end) end = e;
        }
      }
    } catch (err) {
      throw recurrenceProblem(err, `VEVENT (UID ${ev.uid.slice(0, 60)})`);
    }
  }
  for (const c of series) {
    if (c === master || !end) continue;
    const ce = new ICAL.Event(c);
    const e = endOf(ce.startDate, ce.endDate);
    if (e > end) end = e;
  }
  return { uid: ev.uid, startUtc: start, endUtc: end, recurrence: lines.length ? lines.join('\n') : null, transparent };
}

/** A VCALENDAR holding the given VEVENTs (and, for export, the VTIMEZONEs they use). */
export function calendarOf(events: ICAL.Component[], vtimezones: string[] = [], name?: string): string {
  const cal = new ICAL.Component('vcalendar');
  cal.addPropertyWithValue('prodid', '-//Sealmail//Calendar//EN');
  cal.addPropertyWithValue('version', '2.0');
  cal.addPropertyWithValue('calscale', 'GREGORIAN');
  if (name) cal.addPropertyWithValue('x-wr-calname', name);
  for (const tz of vtimezones) cal.addSubcomponent(new ICAL.Component(ICAL.parse(tz) as unknown[]));
  for (const ev of events) cal.addSubcomponent(ev);
  return cal.toString();
}

/** TZIDs used by the VEVENTs (IANA names after normalisation). */
export function zonesUsed(events: ICAL.Component[]): Set<string> {
  const out = new Set<string>();
  for (const ev of events) for (const p of ev.getAllProperties()) {
    const tzid = p.getParameter('tzid');
    if (typeof tzid === 'string') out.add(tzid);
  }
  return out;
}
