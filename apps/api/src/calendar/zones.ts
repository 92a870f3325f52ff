/**
 * Time zones for the calendar (docs/calendar.md "Time zones").
 *
 * ical.js computes UTC offsets from VTIMEZONE components; it has no zone database of its own. The
 * VTIMEZONE definitions come from `timezones-ical-library` (generated from the IANA tz database,
 * the same one the Mozilla/Thunderbird zones are built from), one per IANA name, registered with
 * ical.js's TimezoneService on first use. Outlook writes Windows zone names in TZID
 * ("W. Europe Standard Time"); those are mapped to IANA names with `windows-iana` (Unicode
 * CLDR's windowsZones table). Nothing here parses iCalendar by hand.
 */
import ICAL from 'ical.js';
import { tzlib_get_ical_block } from 'timezones-ical-library';
import { findIana } from 'windows-iana';

const cache = new Map<string, ICAL.Timezone | null>();
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Z']);

/** The ical.js zone for an IANA name (registered with the TimezoneService), or null if unknown. */
export function zoneFor(name: string): ICAL.Timezone | null {
  if (UTC_NAMES.has(name)) return ICAL.Timezone.utcTimezone;
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let zone: ICAL.Timezone | null = null;
  if (name.length <= 64 && /^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) {
    const block = tzlib_get_ical_block(name);
    if (Array.isArray(block) && typeof block[0] === 'string' && block[0].startsWith('BEGIN:VTIMEZONE')) {
      zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(block[0]) as unknown[]));
      ICAL.TimezoneService.register(zone, name);
    }
  }
  if (cache.size < 2000) cache.set(name, zone);
  return zone;
}

/** The VTIMEZONE text for an IANA name (for exports), or null for UTC and unknown names. */
export function vtimezoneText(name: string): string | null {
  if (UTC_NAMES.has(name)) return null;
  const block = tzlib_get_ical_block(name);
  return Array.isArray(block) && typeof block[0] === 'string' ? block[0] : null;
}

/**
 * The IANA name for a TZID as calendars write it: an IANA name as is, a Windows name through the
 * CLDR table, a "/mozilla.org/…/Europe/Berlin"-style prefixed name by its IANA tail. Null: unknown.
 */
export function ianaForTzid(tzid: string): string | null {
  const name = tzid.trim();
  if (zoneFor(name)) return UTC_NAMES.has(name) ? 'UTC' : name;
  const windows = name.length <= 100 ? findIana(name) : undefined;
  if (windows && windows.length > 0 && zoneFor(windows[0]!)) return windows[0]!;
  const tail = /([A-Z][A-Za-z_-]+\/[A-Za-z_+\-/]+)$/.exec(name)?.[1];
  if (tail && tail !== name && zoneFor(tail)) return tail;
  return null;
}

/** True when Node's Intl knows the zone too (the viewer's wall-clock times are formatted with it). */
export function isViewerZone(name: string): boolean {
  if (!zoneFor(name)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** `YYYY-MM-DDTHH:mm` of an instant on the wall clock of `zone`. */
export function wallClock(instant: Date, zone: string): string {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
