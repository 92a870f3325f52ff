/** The reader lists an invitation's iCalendar once, when its two copies are the same bytes (apps/web/src/calendar/twins.ts). */
import { describe, expect, it } from 'vitest';
import { calendarTwins } from '../src/calendar/twins';

const part = (piece: number, filename: string, contentType: string, size: number) => ({ piece, filename, contentType, size });
const ics = (summary: string) => new TextEncoder().encode(`BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`);
/** Piece bytes by number; counts what was read. */
function pieces(bytes: Record<number, Uint8Array>) {
  const read: number[] = [];
  return { read, bytesOf: async (p: number) => (read.push(p), bytes[p]!) };
}

describe('calendar twins', () => {
  const same = ics('Planning');

  it('hides the unnamed text/calendar alternative that has an .ics file of the same bytes beside it', async () => {
    expect(await calendarTwins([part(1, 'attachment', 'text/calendar', same.length), part(2, 'invite.ics', 'application/ics', same.length)], pieces({ 1: same, 2: same }).bytesOf)).toEqual(new Set([1]));
    expect(await calendarTwins([part(1, 'attachment', 'text/calendar', same.length), part(2, 'invite.ics', 'text/calendar', same.length)], pieces({ 1: same, 2: same }).bytesOf)).toEqual(new Set([1]));
  });

  it('keeps both when the bytes differ, even at the same size (the card and the file would disagree)', async () => {
    const other = ics('Plunning'); // same length, another event
    expect(other.length).toBe(same.length);
    expect(await calendarTwins([part(1, 'attachment', 'text/calendar', same.length), part(2, 'invite.ics', 'application/ics', other.length)], pieces({ 1: same, 2: other }).bytesOf)).toEqual(new Set());
  });

  it('keeps every part that is not such a twin, without reading any', async () => {
    const p = pieces({});
    // No named file beside it: the alternative is the only copy, listed.
    expect(await calendarTwins([part(1, 'attachment', 'text/calendar', 497)], p.bytesOf)).toEqual(new Set());
    // A different size: not the same calendar.
    expect(await calendarTwins([part(1, 'attachment', 'text/calendar', 497), part(2, 'invite.ics', 'application/ics', 612)], p.bytesOf)).toEqual(new Set());
    // A named calendar file is never hidden, nor is an unnamed part of another type.
    expect(await calendarTwins([part(1, 'meeting.ics', 'text/calendar', 497), part(2, 'invite.ics', 'application/ics', 497)], p.bytesOf)).toEqual(new Set());
    expect(await calendarTwins([part(1, 'attachment', 'application/pdf', 497), part(2, 'invite.ics', 'application/ics', 497)], p.bytesOf)).toEqual(new Set());
    expect(p.read).toEqual([]);
  });
});
