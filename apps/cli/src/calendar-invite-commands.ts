/**
 * `sealmail calendar respond <event> accept|tentative|decline` (docs/calendar.md "Invitations"):
 * answers an invitation in your calendar; the organizer's event shows the answer and gets a REPLY.
 * <event> is an event id (or its first characters) or the exact title of an event within the
 * next year (or the past 30 days).
 */
import type { ApiClient } from '@sealmail/client';
import { eventRespond, occurrenceList, type PartstatAnswer } from '@sealmail/contract';
import { CommandError } from './mail-commands';

const ANSWERS: Record<string, PartstatAnswer> = { accept: 'ACCEPTED', tentative: 'TENTATIVE', decline: 'DECLINED' };
const day = (d: Date) => d.toISOString().slice(0, 10);

export async function calendarRespondCommand(ctx: { api: ApiClient; out: (line: string) => void }, args: string[], now = new Date()): Promise<void> {
  const [which, word] = args;
  const partstat = word ? ANSWERS[word.toLowerCase()] : undefined;
  if (args.length !== 2 || !which || !partstat) throw new CommandError('usage: sealmail calendar respond <event id or title> accept|tentative|decline', 'usage');
  const from = new Date(now.getTime() - 30 * 86_400_000);
  const to = new Date(now.getTime() + 365 * 86_400_000);
  const { occurrences } = await ctx.api.request(occurrenceList, { query: { from: day(from), to: day(to), tz: 'UTC' } });
  const events = new Map<string, { calendarId: string; title: string; start: string }>();
  for (const o of occurrences) if (!events.has(o.eventId)) events.set(o.eventId, { calendarId: o.calendarId, title: o.title, start: o.start });
  const byId = [...events.keys()].filter((id) => id.startsWith(which.toLowerCase()));
  const byTitle = [...events.entries()].filter(([, e]) => e.title === which).map(([id]) => id);
  const matches = byId.length ? byId : byTitle;
  if (matches.length !== 1) throw new CommandError(matches.length ? `"${which}" matches ${matches.length} events; give more of its id` : `no event of yours is "${which}" (an id, its first characters, or the exact title)`, 'failure');
  const id = matches[0]!;
  const e = events.get(id)!;
  const view = await ctx.api.request(eventRespond, { params: { id: e.calendarId, eventId: id }, body: { partstat } });
  ctx.out(`${partstat.toLowerCase()}: ${view.title} (${e.start}); ${view.organizer ? `${view.organizer.email} was told` : 'no organizer to tell'}`);
}
