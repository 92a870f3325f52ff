/**
 * The CLI's calendar commands (docs/calendar.md "CLI"): `calendar agenda [--days N]`,
 * `calendar create --title … --start … --end …`, `calendar import <file.ics>` and
 * `calendar export <calendar> [file]`. Calendars are named by name or id; without `--calendar`
 * the default calendar is used. Times are wall-clock times of `--tz` (default: this machine's zone).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { ApiClient } from '@sealmail/client';
import { calendarExport, calendarImport, calendarList, eventCreate, occurrenceList, sharedCalendarList } from '@sealmail/contract';
import { CommandError } from './mail-commands';

export interface CalendarOptions {
  days?: string;
  title?: string;
  start?: string;
  end?: string;
  tz?: string;
  location?: string;
  calendar?: string;
  repeat?: string;
}

export const CALENDAR_HELP = `  calendar agenda [--days N]          the next N days (default 7) of all your calendars
  calendar create --title T --start YYYY-MM-DDTHH:mm --end YYYY-MM-DDTHH:mm [--tz ZONE]
                  [--location L] [--repeat RRULE] [--calendar NAME]
                                      a new event (YYYY-MM-DD start and end: all day)
  calendar import <file.ics> [--calendar NAME]
  calendar export <calendar> [file]   the calendar as .ics (to standard output without a file)`;

const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const pad = (n: number) => String(n).padStart(2, '0');
const dateOf = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The calendar named (by id or name, own first, then shared with me), or the default one. */
async function calendarNamed(api: ApiClient, name: string | undefined): Promise<{ id: string; name: string }> {
  const own = (await api.request(calendarList, {})).calendars;
  if (!name) return own[0]!;
  const shared = (await api.request(sharedCalendarList, {})).calendars;
  const all = [...own, ...shared];
  const found = all.find((c) => c.id === name) ?? all.find((c) => c.name.toLowerCase() === name.toLowerCase());
  if (!found) throw new CommandError(`No calendar named "${name}". Yours: ${own.map((c) => c.name).join(', ')}.`, 'failure');
  return found;
}

export async function calendarCommand(ctx: { api: ApiClient; out: (line: string) => void }, args: string[], opts: CalendarOptions): Promise<void> {
  const { api, out } = ctx;
  const [sub, ...rest] = args;
  switch (sub) {
    case 'agenda': {
      const days = opts.days === undefined ? 7 : Number(opts.days);
      if (!Number.isInteger(days) || days < 1 || days > 400) throw new CommandError('calendar agenda: --days takes a whole number from 1 to 400');
      const today = new Date();
      const from = dateOf(today);
      const to = dateOf(new Date(today.getFullYear(), today.getMonth(), today.getDate() + days));
      const r = await api.request(occurrenceList, { query: { from, to, tz: opts.tz ?? localZone() } });
      if (r.occurrences.length === 0) out(`Nothing in the next ${days} day${days === 1 ? '' : 's'}.`);
      for (const o of r.occurrences) {
        const when = o.allDay ? `${o.localStart.slice(0, 10)} all day    ` : `${o.localStart.replace('T', ' ')}–${o.localEnd.slice(11)}`;
        out(`${when}  ${o.title || '(no title)'}${o.location ? `  (${o.location})` : ''}`);
      }
      if (r.truncated) out('… more than can be shown: ask for fewer days.');
      return;
    }
    case 'create': {
      if (!opts.title || !opts.start || !opts.end) throw new CommandError('calendar create: give --title, --start and --end');
      const allDay = /^\d{4}-\d{2}-\d{2}$/.test(opts.start);
      const tz = opts.tz ?? localZone();
      const cal = await calendarNamed(api, opts.calendar);
      const ev = await api.request(eventCreate, {
        params: { id: cal.id },
        body: { title: opts.title, start: opts.start, end: opts.end, allDay, ...(allDay ? {} : { startTz: tz, endTz: tz }), ...(opts.location ? { location: opts.location } : {}), ...(opts.repeat ? { rrule: opts.repeat } : {}) },
      });
      out(`created ${ev.id} in ${cal.name}: ${ev.title}, ${ev.start.replace('T', ' ')}–${ev.end.replace('T', ' ')}${ev.startTz ? ` ${ev.startTz}` : ''}`);
      return;
    }
    case 'import': {
      if (rest.length !== 1) throw new CommandError('calendar import: name one .ics file');
      const ics = await readFile(rest[0]!, 'utf8').catch(() => {
        throw new CommandError(`Cannot read ${rest[0]}.`, 'failure');
      });
      const cal = await calendarNamed(api, opts.calendar);
      const r = await api.request(calendarImport, { params: { id: cal.id }, body: { ics } });
      out(`imported into ${cal.name}: ${r.imported} new, ${r.updated} updated`);
      return;
    }
    case 'export': {
      if (rest.length < 1 || rest.length > 2) throw new CommandError('calendar export: name a calendar and, optionally, a file');
      const cal = await calendarNamed(api, rest[0]);
      const text = await api.requestText(calendarExport, { id: cal.id });
      if (rest[1]) {
        await writeFile(rest[1], text, { mode: 0o600 });
        out(`exported ${cal.name} to ${rest[1]}`);
      } else out(text.replace(/\r?\n$/, ''));
      return;
    }
    default:
      throw new CommandError(`sealmail calendar: expected agenda, create, import or export\n${CALENDAR_HELP}`);
  }
}
