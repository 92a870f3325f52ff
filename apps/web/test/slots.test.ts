/**
 * The scheduling view's proposals (apps/web/src/calendar/slots.ts): wall-clock times of a zone to
 * instants and back across DST, and the first slots when every row is free, on weekday working
 * hours.
 */
import { describe, expect, it } from 'vitest';
import { firstFreeSlots, instantToWall, wallToInstant } from '../src/calendar/slots';

const at = (iso: string) => Date.parse(iso);
const wall = (ms: number) => instantToWall(ms, 'Europe/Berlin');

describe('wall clock and instants', () => {
  it('converts in both directions on either side of a DST change', () => {
    expect(new Date(wallToInstant('2026-03-27T09:00', 'Europe/Berlin')).toISOString()).toBe('2026-03-27T08:00:00.000Z');
    expect(new Date(wallToInstant('2026-03-30T09:00', 'Europe/Berlin')).toISOString()).toBe('2026-03-30T07:00:00.000Z');
    expect(new Date(wallToInstant('2026-11-02T09:00', 'America/New_York')).toISOString()).toBe('2026-11-02T14:00:00.000Z');
    expect(instantToWall(at('2026-03-30T07:00:00Z'), 'Europe/Berlin')).toBe('2026-03-30T09:00');
  });
});

describe('firstFreeSlots', () => {
  it('proposes the first hours when every row is free, skipping busy blocks and the weekend', () => {
    // Friday 27 March 2026 in Berlin: one person busy 08:00–10:00, the room 10:30–11:00 and 11:00–17:30.
    const person = [{ start: at('2026-03-27T07:00:00Z'), end: at('2026-03-27T09:00:00Z') }];
    const room = [
      { start: at('2026-03-27T09:30:00Z'), end: at('2026-03-27T10:00:00Z') },
      { start: at('2026-03-27T10:00:00Z'), end: at('2026-03-27T16:30:00Z') },
    ];
    const slots = firstFreeSlots([person, room], 30 * 60_000, at('2026-03-26T23:00:00Z'), { tz: 'Europe/Berlin' });
    // 10:00–10:30 is free for both; then the room is busy until 17:30, leaving 17:30–18:00;
    // Saturday and Sunday are skipped; Monday starts at 08:00 (after the DST change).
    expect(slots.map((s) => `${wall(s.start)}–${wall(s.end).slice(11)}`)).toEqual(['2026-03-27T10:00–10:30', '2026-03-27T17:30–18:00', '2026-03-30T08:00–08:30']);
  });

  it('proposes nothing when someone is busy for the whole window', () => {
    const always = [{ start: at('2026-01-01T00:00:00Z'), end: at('2027-01-01T00:00:00Z') }];
    expect(firstFreeSlots([[], always], 3_600_000, at('2026-03-02T00:00:00Z'), { tz: 'UTC' })).toEqual([]);
  });
});
