/**
 * Time done right (docs/calendar.md "Time zones"): the recurrence table of issue 13, expanded by
 * ical.js in the event's own zone with VTIMEZONEs from the IANA database, read by viewers in other
 * zones; and the expansion's hard caps. Pure functions, no database.
 */
import { describe, expect, it } from 'vitest';
import { expandSeries, IcsError, parseIcs, seriesOf, viewerDates } from '../src/calendar/ical';
import { wallClock, zoneFor } from '../src/calendar/zones';
import ICAL from 'ical.js';

const cal = (...events: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...events.flatMap((e) => ['BEGIN:VEVENT', 'DTSTAMP:20260101T000000Z', ...e.trim().split('\n').map((l) => l.trim()), 'END:VEVENT']), 'END:VCALENDAR'].join('\r\n');

/** Midnight of a local date in a zone, as an instant. */
const midnight = (date: string, tz: string) => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(ICAL.Time.fromData({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0, isDate: false }, zoneFor(tz)!).toUnixTime() * 1000);
};

/** Occurrences of the first series in [fromDate, toDate) local dates of the viewer's zone. */
function expand(ics: string, fromDate: string, toDate: string, tz = 'UTC', budget = { occurrences: 5000, iterations: 200_000 }) {
  const series = seriesOf(parseIcs(ics))[0]!;
  const from = midnight(fromDate, tz);
  const to = midnight(toDate, tz);
  const dates = viewerDates(from, to, tz);
  const r = expandSeries(series, from, to, tz, budget, dates.fromDate, dates.toDate);
  return { ...r, local: r.occurrences.map((o) => (o.allDay ? o.start : wallClock(new Date(o.start), tz))), utc: r.occurrences.map((o) => o.start) };
}

describe('the recurrence table', () => {
  it('weekly in Europe/Berlin keeps 09:00 local across the March DST change (UTC moves by an hour)', () => {
    const r = expand(cal('UID:berlin\nDTSTART;TZID=Europe/Berlin:20260323T090000\nDTEND;TZID=Europe/Berlin:20260323T100000\nRRULE:FREQ=WEEKLY;COUNT=3'), '2026-03-01', '2026-04-30', 'Europe/Berlin');
    expect(r.local).toEqual(['2026-03-23T09:00', '2026-03-30T09:00', '2026-04-06T09:00']);
    expect(r.utc).toEqual(['2026-03-23T08:00:00.000Z', '2026-03-30T07:00:00.000Z', '2026-04-06T07:00:00.000Z']);
  });

  it('weekly in America/New_York across its DST change, viewed from Berlin (whose change is weeks later)', () => {
    const ics = cal('UID:ny\nDTSTART;TZID=America/New_York:20260302T090000\nDTEND;TZID=America/New_York:20260302T093000\nRRULE:FREQ=WEEKLY;UNTIL=20260331T000000Z');
    const r = expand(ics, '2026-03-01', '2026-04-01', 'Europe/Berlin');
    expect(r.utc).toEqual(['2026-03-02T14:00:00.000Z', '2026-03-09T13:00:00.000Z', '2026-03-16T13:00:00.000Z', '2026-03-23T13:00:00.000Z', '2026-03-30T13:00:00.000Z']);
    // 15:00 in Berlin before New York changes, 14:00 between the two changes, 15:00 again after Berlin's.
    expect(r.local).toEqual(['2026-03-02T15:00', '2026-03-09T14:00', '2026-03-16T14:00', '2026-03-23T14:00', '2026-03-30T15:00']);
    // Autumn, New York: 09:00 local on both sides of 1 November.
    const fall = expand(cal('UID:ny2\nDTSTART;TZID=America/New_York:20261026T090000\nDTEND;TZID=America/New_York:20261026T100000\nRRULE:FREQ=WEEKLY;COUNT=2'), '2026-10-01', '2026-11-30', 'America/New_York');
    expect(fall.local).toEqual(['2026-10-26T09:00', '2026-11-02T09:00']);
    expect(fall.utc).toEqual(['2026-10-26T13:00:00.000Z', '2026-11-02T14:00:00.000Z']);
  });

  it('monthly on the 31st skips the months without one', () => {
    const r = expand(cal('UID:m31\nDTSTART;TZID=Europe/Berlin:20260131T120000\nDTEND;TZID=Europe/Berlin:20260131T130000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=31'), '2026-01-01', '2026-09-01', 'Europe/Berlin');
    expect(r.local.map((l) => l.slice(0, 10))).toEqual(['2026-01-31', '2026-03-31', '2026-05-31', '2026-07-31', '2026-08-31']);
  });

  it('yearly on 29 February happens in leap years only', () => {
    const r = expand(cal('UID:leap\nDTSTART;VALUE=DATE:20240229\nDTEND;VALUE=DATE:20240301\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29'), '2024-01-01', '2033-01-01');
    expect(r.local).toEqual(['2024-02-29', '2028-02-29', '2032-02-29']);
  });

  it('BYDAY=-1FR: the last Friday of each month', () => {
    const r = expand(cal('UID:lastfri\nDTSTART;TZID=Europe/Berlin:20260130T160000\nDTEND;TZID=Europe/Berlin:20260130T170000\nRRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=5'), '2026-01-01', '2026-12-31', 'Europe/Berlin');
    expect(r.local.map((l) => l.slice(0, 10))).toEqual(['2026-01-30', '2026-02-27', '2026-03-27', '2026-04-24', '2026-05-29']);
  });

  it('UNTIL in UTC is inclusive at the exact instant; UNTIL of a floating event is local', () => {
    const zoned = (until: string) => expand(cal(`UID:u-${until}\nDTSTART;TZID=Europe/Berlin:20260301T090000\nDTEND;TZID=Europe/Berlin:20260301T093000\nRRULE:FREQ=DAILY;UNTIL=${until}`), '2026-03-01', '2026-03-10', 'Europe/Berlin').local;
    expect(zoned('20260305T080000Z')).toHaveLength(5); // 09:00 CET is 08:00Z: the fifth is included
    expect(zoned('20260305T075959Z')).toHaveLength(4);
    const floating = expand(cal('UID:float\nDTSTART:20260301T090000\nDTEND:20260301T093000\nRRULE:FREQ=DAILY;UNTIL=20260305T090000'), '2026-03-01', '2026-03-10', 'America/New_York');
    expect(floating.local).toEqual(['2026-03-01T09:00', '2026-03-02T09:00', '2026-03-03T09:00', '2026-03-04T09:00', '2026-03-05T09:00']);
    // Floating times are read on the viewer's clock: the same wall time, another instant.
    expect(expand(cal('UID:float2\nDTSTART:20260301T090000\nDTEND:20260301T093000'), '2026-03-01', '2026-03-02', 'Asia/Tokyo').utc).toEqual(['2026-03-01T00:00:00.000Z']);
  });

  it('an exception moved across midnight shows on its new day, not its old one', () => {
    const ics = cal(
      'UID:late\nDTSTART;TZID=Europe/Berlin:20260302T220000\nDTEND;TZID=Europe/Berlin:20260302T230000\nRRULE:FREQ=WEEKLY;COUNT=4',
      'UID:late\nRECURRENCE-ID;TZID=Europe/Berlin:20260309T220000\nDTSTART;TZID=Europe/Berlin:20260310T010000\nDTEND;TZID=Europe/Berlin:20260310T020000\nSUMMARY:moved',
    );
    expect(expand(ics, '2026-03-09', '2026-03-10', 'Europe/Berlin').local).toEqual([]);
    const moved = expand(ics, '2026-03-10', '2026-03-11', 'Europe/Berlin');
    expect(moved.local).toEqual(['2026-03-10T01:00']);
    expect(moved.occurrences[0]).toMatchObject({ isException: true, recurrenceId: '2026-03-09T22:00:00' });
    expect(expand(ics, '2026-03-01', '2026-04-01', 'Europe/Berlin').local).toEqual(['2026-03-02T22:00', '2026-03-10T01:00', '2026-03-16T22:00', '2026-03-23T22:00']);
  });

  it('an all-day event is on its date for viewers at UTC-10 and UTC+14 alike', () => {
    const ics = cal('UID:allday\nDTSTART;VALUE=DATE:20260704\nDTEND;VALUE=DATE:20260705\nSUMMARY:Holiday');
    for (const tz of ['Pacific/Honolulu', 'Pacific/Kiritimati']) {
      expect(expand(ics, '2026-07-04', '2026-07-05', tz).local).toEqual(['2026-07-04']);
      expect(expand(ics, '2026-07-05', '2026-07-06', tz).local).toEqual([]);
      expect(expand(ics, '2026-07-03', '2026-07-04', tz).local).toEqual([]);
    }
  });
});

describe('bounded expansion', () => {
  it('refuses a recurrence every second (and every minute), naming it', () => {
    expect(() => seriesOf(parseIcs(cal('UID:s\nDTSTART:20260101T000000Z\nRRULE:FREQ=SECONDLY;INTERVAL=1')))).toThrow(/FREQ=SECONDLY/);
    expect(() => seriesOf(parseIcs(cal('UID:m\nDTSTART:20260101T000000Z\nRRULE:FREQ=MINUTELY')))).toThrow(IcsError);
  });

  it('an hourly rule with no end starting in 1900 stops at the iteration cap and says truncated', { timeout: 60_000 }, () => {
    const r = expand(cal('UID:h\nDTSTART:19000101T000000Z\nDTEND:19000101T000100Z\nRRULE:FREQ=HOURLY'), '2026-01-01', '2026-02-01', 'UTC', { occurrences: 5000, iterations: 50_000 });
    expect(r.truncated).toBe(true);
    expect(r.occurrences).toEqual([]);
  });

  it('stops at the occurrence cap and says truncated', () => {
    const r = expand(cal('UID:h2\nDTSTART:20260101T000000Z\nDTEND:20260101T000100Z\nRRULE:FREQ=HOURLY'), '2026-01-01', '2026-03-01', 'UTC', { occurrences: 100, iterations: 200_000 });
    expect(r.truncated).toBe(true);
    expect(r.occurrences).toHaveLength(100);
  });

  it('names what is wrong in malformed input', () => {
    expect(() => parseIcs('hello')).toThrow(/not valid iCalendar/);
    expect(() => seriesOf(parseIcs(cal('UID:x\nSUMMARY:no start')))).toThrow(/no DTSTART/);
    expect(() => parseIcs(cal('UID:z\nDTSTART;TZID=Mars/Olympus:20260101T000000'))).toThrow(/unknown time zone "Mars\/Olympus"/);
  });

  it('maps Outlook’s Windows zone names to IANA zones', () => {
    const series = seriesOf(parseIcs(cal('UID:w\nDTSTART;TZID=W. Europe Standard Time:20260323T090000\nDTEND;TZID=W. Europe Standard Time:20260323T100000')))[0]!;
    expect(series[0]!.getFirstProperty('dtstart')!.getParameter('tzid')).toBe('Europe/Berlin');
  });
});
