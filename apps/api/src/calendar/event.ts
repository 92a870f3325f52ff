/**
 * An event's JSON form (packages/contract/src/calendar.ts) to and from its VEVENT, and the three
 * edit scopes of a recurring series (RFC 5545 §3.8.4.4 RECURRENCE-ID; "this and following" splits
 * the series with UNTIL as Google Calendar and Outlook do).
 */
import { randomUUID } from 'node:crypto';
import ICAL from 'ical.js';
import type { EventInput, EventView } from '@sealmail/contract';
import { IcsError, parseRrule, ridString, ridTime } from './ical';
import { zoneFor } from './zones';

type Input = Omit<EventInput, 'allDay' | 'transparency' | 'visibility' | 'reminders' | 'attendees'> & Required<Pick<EventInput, 'allDay' | 'transparency' | 'visibility' | 'reminders' | 'attendees'>>;

function timeOf(value: string, allDay: boolean, tz: string | undefined, field: string): ICAL.Time {
  const [date, clock] = value.split('T');
  const [y, m, d] = date!.split('-').map(Number) as [number, number, number];
  if (allDay) {
    if (clock) throw new IcsError('malformed', `${field}: an all-day event takes a date (YYYY-MM-DD)`);
    const t = ICAL.Time.fromData({ year: y, month: m, day: d, isDate: true });
    if (t.month !== m || t.day !== d) throw new IcsError('malformed', `${field}: ${value} is not a calendar date`);
    return t;
  }
  if (!clock) throw new IcsError('malformed', `${field}: a timed event takes a date and time (YYYY-MM-DDTHH:mm)`);
  const [hh, mm, ss] = clock.split(':').map(Number) as [number, number, number | undefined];
  if (m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || (ss ?? 0) > 59) throw new IcsError('malformed', `${field}: ${value} is not a valid date and time`);
  const zone = tz ? zoneFor(tz) : null;
  if (tz && !zone) throw new IcsError('zone', `${field}: unknown time zone "${tz}"`);
  const data = { year: y, month: m, day: d, hour: hh, minute: mm, second: ss ?? 0, isDate: false };
  const t = zone ? ICAL.Time.fromData(data, zone) : ICAL.Time.fromData(data);
  if (t.month !== m || t.day !== d) throw new IcsError('malformed', `${field}: ${value} is not a calendar date`);
  return t;
}

const setTime = (c: ICAL.Component, name: string, t: ICAL.Time) => {
  c.removeAllProperties(name);
  const p = new ICAL.Property(name, c);
  p.setValue(t);
  if (!t.isDate && t.zone && t.zone !== ICAL.Timezone.utcTimezone && t.zone !== ICAL.Timezone.localTimezone) p.setParameter('tzid', t.zone.tzid);
  c.addProperty(p);
};

/** A VEVENT from the editor's input. `base` keeps UID, SEQUENCE, organizer and unknown properties. */
export function veventFromInput(input: Input, opts: { uid?: string; sequence?: number; organizer?: { email: string; name?: string; sentBy?: string }; base?: ICAL.Component; now: Date }): ICAL.Component {
  const c = opts.base ? new ICAL.Component(structuredClone(opts.base.toJSON())) : new ICAL.Component('vevent');
  const start = timeOf(input.start, input.allDay, input.startTz, 'body.event.start');
  const end = timeOf(input.end, input.allDay, input.endTz ?? input.startTz, 'body.event.end');
  if (end.compare(start) < 0 || (input.allDay && end.compare(start) === 0)) throw new IcsError('malformed', 'body.event.end: the end must be after the start');
  const set = (name: string, value: string | number | undefined) => {
    c.removeAllProperties(name);
    if (value !== undefined && value !== '') c.addPropertyWithValue(name, value);
  };
  set('uid', opts.uid ?? (c.getFirstPropertyValue('uid') as string | null) ?? `${randomUUID()}@sealmail`);
  const dtstamp = ICAL.Time.fromJSDate(opts.now, true);
  set('dtstamp', undefined);
  c.addPropertyWithValue('dtstamp', dtstamp);
  set('sequence', opts.sequence ?? 0);
  set('summary', input.title);
  set('location', input.location);
  set('description', input.description);
  set('url', input.meetingUrl);
  set('transp', input.transparency === 'transparent' ? 'TRANSPARENT' : 'OPAQUE');
  set('class', input.visibility === 'private' ? 'PRIVATE' : 'PUBLIC');
  setTime(c, 'dtstart', start);
  c.removeAllProperties('duration');
  setTime(c, 'dtend', end);
  c.removeAllProperties('rrule');
  if (input.rrule) {
    const r = parseRrule(input.rrule);
    if (r.until) {
      // RFC 5545: UNTIL is a date for all-day events and UTC for zoned ones.
      if (input.allDay && !r.until.isDate) r.until = ICAL.Time.fromData({ year: r.until.year, month: r.until.month, day: r.until.day, isDate: true });
      else if (!input.allDay && r.until.isDate) {
        const u = start.clone();
        u.year = r.until.year;
        u.month = r.until.month;
        u.day = r.until.day;
        u.hour = 23;
        u.minute = 59;
        u.second = 59;
        r.until = input.startTz ? u.convertToZone(ICAL.Timezone.utcTimezone) : u;
      }
    }
    c.addPropertyWithValue('rrule', r);
  }
  c.removeAllProperties('attendee');
  for (const a of input.attendees) {
    const p = new ICAL.Property('attendee', c);
    p.setValue(`mailto:${a.email}`);
    if (a.name) p.setParameter('cn', a.name);
    p.setParameter('role', a.role ?? 'REQ-PARTICIPANT');
    p.setParameter('partstat', a.partstat ?? 'NEEDS-ACTION');
    if (a.cutype) p.setParameter('cutype', a.cutype);
    c.addProperty(p);
  }
  c.removeAllProperties('organizer');
  if (input.attendees.length > 0 && opts.organizer) {
    const p = new ICAL.Property('organizer', c);
    p.setValue(`mailto:${opts.organizer.email}`);
    if (opts.organizer.name) p.setParameter('cn', opts.organizer.name);
    // A delegate acting for the calendar's owner (RFC 5545 §3.2.18).
    if (opts.organizer.sentBy) p.setParameter('sent-by', `mailto:${opts.organizer.sentBy}`);
    c.addProperty(p);
  }
  for (const alarm of c.getAllSubcomponents('valarm')) c.removeSubcomponent(alarm);
  for (const r of input.reminders) {
    const a = new ICAL.Component('valarm');
    a.addPropertyWithValue('action', r.byMail ? 'EMAIL' : 'DISPLAY');
    a.addPropertyWithValue('description', input.title || 'Reminder');
    // RFC 5545 §3.6.6: an EMAIL alarm has a SUMMARY (the mail's subject); the server mails the owner.
    if (r.byMail) a.addPropertyWithValue('summary', `Reminder: ${input.title || 'event'}`);
    const trigger = new ICAL.Property('trigger', a);
    trigger.setValue(ICAL.Duration.fromSeconds(-r.minutesBefore * 60));
    a.addProperty(trigger);
    c.addSubcomponent(a);
  }
  return c;
}

const wall = (t: ICAL.Time) => (t.isDate ? ridString(t) : ridString(t).replace(/Z$/, '').slice(0, 16));
const zoneName = (t: ICAL.Time) => (!t.isDate && t.zone && t.zone !== ICAL.Timezone.localTimezone ? (t.zone === ICAL.Timezone.utcTimezone ? 'UTC' : t.zone.tzid) : undefined);

/** The JSON form of a series' master VEVENT. */
export function viewOf(series: ICAL.Component[], ids: { id: string; calendarId: string }): EventView {
  const master = series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
  const ev = new ICAL.Event(master);
  const str = (n: string) => {
    const v = master.getFirstPropertyValue(n);
    return v === null || v === undefined || v === '' ? undefined : String(v);
  };
  const start = ev.startDate;
  let end = ev.endDate ?? start;
  if (start.isDate && end.compare(start) <= 0) {
    end = start.clone();
    end.day += 1;
  }
  const rrule = master.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  const organizer = master.getFirstProperty('organizer');
  const mail = (v: unknown) => String(v).replace(/^mailto:/i, '');
  const meetingUrl = str('url');
  return {
    id: ids.id,
    calendarId: ids.calendarId,
    uid: ev.uid,
    sequence: ev.sequence ?? 0,
    title: str('summary') ?? '',
    ...(str('location') ? { location: str('location') } : {}),
    ...(str('description') ? { description: str('description') } : {}),
    ...(meetingUrl && /^https?:\/\//.test(meetingUrl) ? { meetingUrl } : {}),
    allDay: start.isDate,
    start: wall(start),
    end: wall(end),
    ...(zoneName(start) ? { startTz: zoneName(start) } : {}),
    ...(zoneName(end) ? { endTz: zoneName(end) } : {}),
    ...(rrule ? { rrule: rrule.toString() } : {}),
    transparency: str('transp')?.toUpperCase() === 'TRANSPARENT' ? 'transparent' : 'opaque',
    visibility: ['PRIVATE', 'CONFIDENTIAL'].includes(str('class')?.toUpperCase() ?? '') ? 'private' : 'public',
    reminders: master
      .getAllSubcomponents('valarm')
      .map((a) => ({ trigger: a.getFirstPropertyValue('trigger'), byMail: String(a.getFirstPropertyValue('action') ?? '').toUpperCase() === 'EMAIL' }))
      .filter((x): x is { trigger: ICAL.Duration; byMail: boolean } => x.trigger instanceof ICAL.Duration)
      .map((x) => ({ minutesBefore: Math.max(0, Math.round(-x.trigger.toSeconds() / 60)), ...(x.byMail ? { byMail: true } : {}) })),
    attendees: master.getAllProperties('attendee').map((p) => {
      const role = String(p.getParameter('role') ?? 'REQ-PARTICIPANT').toUpperCase();
      const partstat = String(p.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase();
      const cn = p.getParameter('cn');
      const cutype = String(p.getParameter('cutype') ?? '').toUpperCase();
      const reason = p.getParameter('x-sealmail-reason');
      return {
        email: mail(p.getFirstValue()),
        ...(typeof cn === 'string' ? { name: cn } : {}),
        ...(['INDIVIDUAL', 'GROUP', 'RESOURCE', 'ROOM', 'UNKNOWN'].includes(cutype) ? { cutype: cutype as 'ROOM' } : {}),
        ...(typeof reason === 'string' ? { reason } : {}),
        role: (['CHAIR', 'REQ-PARTICIPANT', 'OPT-PARTICIPANT', 'NON-PARTICIPANT'].includes(role) ? role : 'REQ-PARTICIPANT') as 'REQ-PARTICIPANT',
        partstat: (['NEEDS-ACTION', 'ACCEPTED', 'DECLINED', 'TENTATIVE', 'DELEGATED'].includes(partstat) ? partstat : 'NEEDS-ACTION') as 'NEEDS-ACTION',
      };
    }),
    organizer: organizer ? { email: mail(organizer.getFirstValue()), ...(typeof organizer.getParameter('cn') === 'string' ? { name: organizer.getParameter('cn') as string } : {}) } : null,
    exceptions: series.filter((c) => c !== master).map((c) => ridString(c.getFirstPropertyValue('recurrence-id') as ICAL.Time)),
  };
}

const masterOf = (series: ICAL.Component[]) => series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
const sameRid = (c: ICAL.Component, rid: ICAL.Time) => {
  const r = c.getFirstPropertyValue('recurrence-id') as ICAL.Time | null;
  return r !== null && r.compare(rid) === 0;
};

/** True when `rid` is an occurrence of the series (bounded walk). */
function isOccurrence(series: ICAL.Component[], rid: ICAL.Time): boolean {
  const ev = new ICAL.Event(masterOf(series));
  if (!ev.isRecurring()) return ev.startDate.compare(rid) === 0;
  try {
    const it = ev.iterator();
    for (let i = 0; i < 100_000; i++) {
      const n = it.next();
      if (!n) return false;
      const c = n.compare(rid);
      if (c === 0) return true;
      if (c > 0) return false;
    }
  } catch {
    // A stored rule that stops stepping (calendar/ical.ts, the recurrence guard): no occurrence past that point.
  }
  return false;
}

function occurrencesBefore(master: ICAL.Component, rid: ICAL.Time): number {
  const ev = new ICAL.Event(master);
  let n = 0;
  try {
    const it = ev.iterator();
    for (let i = 0; i < 100_000; i++) {
      const t = it.next();
      if (!t || t.compare(rid) >= 0) break;
      n++;
    }
  } catch {
    // As in isOccurrence: the occurrences counted until the rule stopped stepping.
  }
  return n;
}

/** Ends the master's recurrence just before `rid` (UNTIL in the form RFC 5545 asks for). */
function endBefore(master: ICAL.Component, rid: ICAL.Time): void {
  const prop = master.getFirstProperty('rrule');
  if (!prop) return;
  const r = prop.getFirstValue() as ICAL.Recur;
  let until: ICAL.Time;
  if (rid.isDate) {
    until = rid.clone();
    until.day -= 1;
  } else {
    until = rid.clone();
    until.second -= 1;
    if (until.zone && until.zone !== ICAL.Timezone.localTimezone) until = until.convertToZone(ICAL.Timezone.utcTimezone);
  }
  r.count = null as unknown as number;
  r.until = until;
  prop.setValue(r);
  for (const p of master.getAllProperties('rdate').concat(master.getAllProperties('exdate'))) {
    const v = p.getFirstValue();
    if (v instanceof ICAL.Time && v.compare(rid) >= 0) master.removeProperty(p);
  }
}

const bumped = (c: ICAL.Component) => ((c.getFirstPropertyValue('sequence') as number | null) ?? 0) + 1;

export interface EditResult {
  series: ICAL.Component[];
  /** For `following`: the new series from the occurrence on. */
  created: ICAL.Component[] | null;
}

/** Applies an edit with its scope to a series. */
export function editSeries(series: ICAL.Component[], input: Input, scope: 'all' | 'this' | 'following', rid: string | undefined, ctx: { organizer?: { email: string; name?: string; sentBy?: string }; now: Date }): EditResult {
  const master = masterOf(series);
  const uid = master.getFirstPropertyValue('uid') as string;
  const recurring = master.hasProperty('rrule') || master.hasProperty('rdate');
  if (scope === 'all' || !recurring) {
    const next = veventFromInput(input, { uid, sequence: bumped(master), organizer: ctx.organizer, base: master, now: ctx.now });
    const oldStart = master.getFirstPropertyValue('dtstart') as ICAL.Time;
    const newStart = next.getFirstPropertyValue('dtstart') as ICAL.Time;
    const sameRule = String(master.getFirstPropertyValue('rrule') ?? '') === String(next.getFirstPropertyValue('rrule') ?? '');
    // Overrides and exclusions name original starts: they stay valid only if those do not move.
    const keep = oldStart.compare(newStart) === 0 && oldStart.isDate === newStart.isDate && sameRule;
    if (!keep) next.removeAllProperties('exdate');
    return { series: keep ? [next, ...series.filter((c) => c !== master)] : [next], created: null };
  }
  if (!rid) throw new IcsError('malformed', 'body.recurrenceId: needed for this scope');
  const at = ridTime(master, rid);
  if (!isOccurrence(series, at)) throw new IcsError('malformed', `body.recurrenceId: ${rid} is not an occurrence of this event`);
  if (scope === 'this') {
    const old = series.find((c) => c !== master && sameRid(c, at));
    const one = veventFromInput({ ...input, rrule: undefined }, { uid, sequence: bumped(old ?? master), organizer: ctx.organizer, base: old ?? master, now: ctx.now });
    one.removeAllProperties('rrule');
    one.removeAllProperties('rdate');
    one.removeAllProperties('exdate');
    setTime(one, 'recurrence-id', at);
    return { series: [...series.filter((c) => c !== old), one], created: null };
  }
  // following
  const start = master.getFirstPropertyValue('dtstart') as ICAL.Time;
  if (start.compare(at) === 0) return editSeries(series, input, 'all', undefined, ctx);
  const oldRule = master.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  let rrule = input.rrule;
  if (oldRule?.count && rrule && parseRrule(rrule).toString() === oldRule.toString()) {
    const r = oldRule.clone();
    r.count = Math.max(1, oldRule.count - occurrencesBefore(master, at));
    rrule = r.toString();
  }
  const head = new ICAL.Component(structuredClone(master.toJSON()));
  endBefore(head, at);
  head.updatePropertyWithValue('sequence', bumped(master));
  const kept = series.filter((c) => c !== master && (c.getFirstPropertyValue('recurrence-id') as ICAL.Time).compare(at) < 0);
  const tail = veventFromInput({ ...input, rrule }, { organizer: ctx.organizer, base: master, uid: `${randomUUID()}@sealmail`, sequence: 0, now: ctx.now });
  tail.removeAllProperties('exdate');
  tail.removeAllProperties('rdate');
  return { series: [head, ...kept], created: [tail] };
}

/** Deletes with a scope; null: nothing of the series is left. */
export function deleteFromSeries(series: ICAL.Component[], scope: 'all' | 'this' | 'following', rid: string | undefined): ICAL.Component[] | null {
  const master = masterOf(series);
  const recurring = master.hasProperty('rrule') || master.hasProperty('rdate');
  if (scope === 'all' || !recurring) return null;
  if (!rid) throw new IcsError('malformed', 'query.recurrenceId: needed for this scope');
  const at = ridTime(master, rid);
  if (!isOccurrence(series, at)) throw new IcsError('malformed', `query.recurrenceId: ${rid} is not an occurrence of this event`);
  const start = master.getFirstPropertyValue('dtstart') as ICAL.Time;
  const next = new ICAL.Component(structuredClone(master.toJSON()));
  next.updatePropertyWithValue('sequence', bumped(master));
  if (scope === 'following') {
    if (start.compare(at) === 0) return null;
    endBefore(next, at);
    return [next, ...series.filter((c) => c !== master && (c.getFirstPropertyValue('recurrence-id') as ICAL.Time).compare(at) < 0)];
  }
  const ex = new ICAL.Property('exdate', next);
  ex.setValue(at);
  if (!at.isDate && at.zone && at.zone !== ICAL.Timezone.utcTimezone && at.zone !== ICAL.Timezone.localTimezone) ex.setParameter('tzid', at.zone.tzid);
  next.addProperty(ex);
  return [next, ...series.filter((c) => c !== master && !sameRid(c, at))];
}
