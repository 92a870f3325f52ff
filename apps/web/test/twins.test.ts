/** The reader lists an invitation's iCalendar once (apps/web/src/calendar/twins.ts). */
import { describe, expect, it } from 'vitest';
import { calendarTwins } from '../src/calendar/twins';

const part = (piece: number, filename: string, contentType: string, size: number) => ({ piece, filename, contentType, size });

describe('calendar twins', () => {
  it('hides the unnamed text/calendar alternative that has an .ics file of the same size beside it', () => {
    expect(calendarTwins([part(1, 'attachment', 'text/calendar', 497), part(2, 'invite.ics', 'application/ics', 497)])).toEqual(new Set([1]));
    expect(calendarTwins([part(1, 'attachment', 'text/calendar', 497), part(2, 'invite.ics', 'text/calendar', 497)])).toEqual(new Set([1]));
  });

  it('keeps every part that is not such a twin', () => {
    // No named file beside it: the alternative is the only copy, listed.
    expect(calendarTwins([part(1, 'attachment', 'text/calendar', 497)])).toEqual(new Set());
    // A different size: not the same calendar.
    expect(calendarTwins([part(1, 'attachment', 'text/calendar', 497), part(2, 'invite.ics', 'application/ics', 612)])).toEqual(new Set());
    // A named calendar file is never hidden, nor is an unnamed part of another type.
    expect(calendarTwins([part(1, 'meeting.ics', 'text/calendar', 497), part(2, 'invite.ics', 'application/ics', 497)])).toEqual(new Set());
    expect(calendarTwins([part(1, 'attachment', 'application/pdf', 497), part(2, 'invite.ics', 'application/ics', 497)])).toEqual(new Set());
  });
});
