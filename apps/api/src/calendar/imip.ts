/**
 * Invitations over mail (iMIP, RFC 6047; iTIP methods of RFC 5546), docs/calendar.md
 * "Invitations".
 *
 * The calendar is server-encrypted (MISSION §2), so the server — which holds the event anyway —
 * writes the invitation mails itself: a multipart/alternative with a human-readable text part and
 * `text/calendar; method=…`, built by nodemailer's MailComposer. It goes through `deliverLocal`,
 * the path of every server-written mail: sealed to each local attendee's key (a "Server
 * Encrypted" mail), and for outside attendees boxed to the server key and queued on the outbound
 * relay, which DKIM-signs it for the organizer's domain (the same path a list's outside members
 * take). No client key is involved because there is no end-to-end secret to keep: the event is
 * server-readable at rest.
 *
 * - REQUEST: on every organizer write with attendees (SEQUENCE is bumped by the edit). Local
 *   attendees get the series in their default calendar (their own PARTSTAT is kept on updates).
 * - CANCEL: to attendees removed, or to all when the series is deleted; local copies go.
 * - REPLY: an attendee's answer updates the organizer's ATTENDEE PARTSTAT (directly when the
 *   organizer is local, plus a REPLY mail); outside REPLYs arrive over SMTP and are applied from
 *   `calendar_itips` (apps/smtp/src/itip.ts checks the From and its SPF/DKIM alignment first).
 * - COUNTER (from outside) is kept for the organizer, who may decline it (DECLINECOUNTER).
 */
import { randomUUID } from 'node:crypto';
import ICAL from 'ical.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import * as rrule from 'rrule';
import { ApiError } from '@sealmail/contract';
import { openBox } from '@sealmail/crypto';
import { deliverLocal } from '@sealmail/mailstore';
import type { ApiDeps } from '../deps';
import { parseIcs, seriesOf } from './ical';
import type { CalendarStore } from './store';
import { vtimezoneText } from './zones';

export type Partstat = 'ACCEPTED' | 'TENTATIVE' | 'DECLINED';
export interface InviteUser {
  id: string;
  localPart: string;
  displayName: string;
  domainId: string;
  domain: { name: string };
}

const DEFAULT_NAME = 'Calendar';
const addressOf = (u: { localPart: string; domain: { name: string } }) => `${u.localPart}@${u.domain.name}`.toLowerCase();
const mailto = (v: unknown) => String(v ?? '').replace(/^mailto:/i, '').trim().toLowerCase();
const masterOf = (series: ICAL.Component[]) => series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
export const organizerOf = (series: ICAL.Component[] | null) => (series?.length ? mailto(masterOf(series).getFirstPropertyValue('organizer')) || null : null);
/** The ORGANIZER a stored series names, as veventFromInput writes one (email, CN, SENT-BY). */
export function storedOrganizer(series: ICAL.Component[]): { email: string; name?: string; sentBy?: string } | null {
  const p = masterOf(series).getFirstProperty('organizer');
  const email = p ? mailto(p.getFirstValue()) : '';
  if (!p || !email) return null;
  const name = p.getParameter('cn');
  const sentBy = p.getParameter('sent-by');
  return { email, ...(typeof name === 'string' ? { name } : {}), ...(typeof sentBy === 'string' ? { sentBy: mailto(sentBy) } : {}) };
}
const attendeesOf = (series: ICAL.Component[] | null, except: string) =>
  new Set((series ?? []).flatMap((c) => c.getAllProperties('attendee').map((p) => mailto(p.getFirstValue()))).filter((a) => a && a !== except));
const clone = (c: ICAL.Component) => new ICAL.Component(structuredClone(c.toJSON()));
const withoutAlarms = (c: ICAL.Component) => {
  const out = clone(c);
  for (const a of out.getAllSubcomponents('valarm')) out.removeSubcomponent(a);
  return out;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

/** An iTIP VCALENDAR: METHOD, the VTIMEZONEs used, the VEVENTs. */
export function itipText(method: string, events: ICAL.Component[]): string {
  const cal = new ICAL.Component('vcalendar');
  cal.addPropertyWithValue('prodid', '-//Sealmail//Calendar//EN');
  cal.addPropertyWithValue('version', '2.0');
  cal.addPropertyWithValue('calscale', 'GREGORIAN');
  cal.addPropertyWithValue('method', method);
  const zones = new Set<string>();
  for (const ev of events) for (const p of ev.getAllProperties()) if (typeof p.getParameter('tzid') === 'string') zones.add(p.getParameter('tzid') as string);
  for (const z of zones) {
    const t = vtimezoneText(z);
    if (t) cal.addSubcomponent(new ICAL.Component(ICAL.parse(t) as unknown[]));
  }
  for (const ev of events) cal.addSubcomponent(ev);
  return cal.toString();
}

// rrule's CommonJS build (what Node loads for the compiled services) has its names only on the default export.
const { RRule } = 'RRule' in rrule ? rrule : (rrule as unknown as { default: typeof rrule }).default;

/**
 * A recurrence rule in words ("every week on Monday for 6 times") where rrule says all of it;
 * otherwise the rule itself (rrule's words leave out BYSETPOS — "the last Monday" — and the
 * parts below a day), never a sentence that says something else.
 */
export function repeatsText(rule: string): string {
  if (/BYSETPOS|BYWEEKNO|BYYEARDAY|BYHOUR|BYMINUTE|BYSECOND/i.test(rule)) return rule;
  try {
    const r = RRule.fromString(rule);
    return r.isFullyConvertibleToText() ? r.toText() : rule;
  } catch {
    return rule;
  }
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * When an event is, in words and in its own zone: "Wednesday, November 25, 2026, 10:00–11:30
 * (Europe/Berlin)"; an end on another day is named in full; all-day events have no times (their
 * DTEND is the day after, RFC 5545 §3.6.1).
 */
export function whenText(start: ICAL.Time, end: ICAL.Time | null): string {
  const day = (t: ICAL.Time) => `${DAYS[t.dayOfWeek() - 1]}, ${MONTHS[t.month - 1]} ${t.day}, ${t.year}`;
  const time = (t: ICAL.Time) => `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
  const zone = (t: ICAL.Time) => (t.zone && t.zone.tzid !== 'floating' ? ` (${t.zone.tzid})` : '');
  const sameDay = (a: ICAL.Time, b: ICAL.Time) => a.year === b.year && a.month === b.month && a.day === b.day;
  if (start.isDate) {
    const last = end ? end.clone() : null;
    last?.adjust(-1, 0, 0, 0);
    return last && !sameDay(start, last) && last.compare(start) > 0 ? `${day(start)} – ${day(last)} (all day)` : `${day(start)} (all day)`;
  }
  if (!end) return `${day(start)}, ${time(start)}${zone(start)}`;
  const endZone = zone(end) !== zone(start) ? zone(end) : '';
  return sameDay(start, end) && !endZone ? `${day(start)}, ${time(start)}–${time(end)}${zone(start)}` : `${day(start)}, ${time(start)}${endZone ? zone(start) : ''} – ${day(end)}, ${time(end)}${endZone || zone(start)}`;
}

/** The human-readable part: what, when, where, who asks. */
function humanText(method: string, master: ICAL.Component, who: string): { subject: string; text: string } {
  const ev = new ICAL.Event(master);
  const title = ev.summary || '(no title)';
  const rule = master.getFirstPropertyValue('rrule');
  const lines = [`When: ${whenText(ev.startDate, ev.endDate)}`, ...(rule ? [`Repeats: ${repeatsText(String(rule))}`] : []), ...(ev.location ? [`Where: ${ev.location}`] : [])];
  const attendees = master.getAllProperties('attendee').map((p) => mailto(p.getFirstValue()));
  switch (method) {
    case 'CANCEL':
      return { subject: `Cancelled: ${title}`, text: [`${who} cancelled this event:`, '', title, ...lines, ''].join('\n') };
    case 'REPLY': {
      const p = master.getFirstProperty('attendee');
      const st = String(p?.getParameter('partstat') ?? 'NEEDS-ACTION').toLowerCase();
      return { subject: `${st.charAt(0).toUpperCase()}${st.slice(1)}: ${title}`, text: [`${who} answered "${st}" to:`, '', title, ...lines, ''].join('\n') };
    }
    case 'DECLINECOUNTER':
      return { subject: `Proposal declined: ${title}`, text: [`${who} declined your proposed change to:`, '', title, ...lines, ''].join('\n') };
    default:
      return {
        subject: `Invitation: ${title}`,
        text: [`${who} invites you to:`, '', title, ...lines, ...(attendees.length ? [`Guests: ${attendees.join(', ')}`] : []), '', 'Answer with your calendar program (Accept, Tentative or Decline).', ''].join('\n'),
      };
  }
}

/** The iMIP mail (RFC 6047): multipart/alternative of text/plain and text/calendar; method=…. */
export async function imipMime(opts: { method: string; from: { name: string; address: string }; to: string[]; events: ICAL.Component[]; hostname: string; date: Date }): Promise<Buffer> {
  const { subject, text } = humanText(opts.method, masterOf(opts.events), opts.from.name ? `${opts.from.name} <${opts.from.address}>` : opts.from.address);
  const composer = new MailComposer({
    from: opts.from,
    to: opts.to,
    subject,
    text,
    date: opts.date,
    messageId: `<${randomUUID()}@${opts.hostname}>`,
    icalEvent: { method: opts.method, filename: opts.method === 'REQUEST' ? 'invite.ics' : `${opts.method.toLowerCase()}.ics`, content: itipText(opts.method, opts.events) },
  });
  return composer.compile().build();
}

export class Invitations {
  constructor(
    private readonly deps: ApiDeps,
    private readonly store: CalendarStore,
  ) {}

  private async localUser(address: string) {
    const at = address.lastIndexOf('@');
    // A suspended user is nobody here, as at the SMTP ingress (550 5.1.1): no copy, no mail.
    return this.deps.db.user.findFirst({ where: { localPart: address.slice(0, at), domain: { name: address.slice(at + 1) }, status: 'active' }, select: { id: true, localPart: true, displayName: true, domainId: true, domain: { select: { name: true } } } });
  }
  /** A room or equipment of this server: it answers bookings itself (resources.ts), no mail. */
  private async resource(address: string) {
    const at = address.lastIndexOf('@');
    return (await this.deps.db.calendarResource.count({ where: { localPart: address.slice(0, at), domain: { name: address.slice(at + 1) } } })) > 0;
  }
  private async ourDomain(address: string) {
    return (await this.deps.db.domain.count({ where: { name: address.slice(address.lastIndexOf('@') + 1) } })) > 0;
  }

  /** Before an organizer's write: every attendee is a mailbox here or an outside address this server may relay to. */
  async precheck(user: InviteUser, attendees: readonly { email: string }[]): Promise<void> {
    let outside = false;
    for (const [i, a] of attendees.entries()) {
      const email = a.email.toLowerCase();
      if (email === addressOf(user)) continue;
      if (await this.localUser(email)) continue;
      if (await this.resource(email)) continue;
      if (await this.ourDomain(email)) throw new ApiError('RECIPIENT_UNKNOWN', `body.attendees.${i}.email`, `There is no mailbox ${email} here.`);
      outside = true;
    }
    if (!outside) return;
    if (!this.deps.outbound) throw new ApiError('OUTBOUND_UNAVAILABLE', 'body.attendees');
    const policy = await this.deps.db.domain.findUnique({ where: { id: user.domainId }, select: { encryptionPolicy: true } });
    if (policy?.encryptionPolicy === 'secure_only') throw new ApiError('POLICY_FORBIDS_STANDARD', 'body.attendees');
  }

  /** After an organizer's write: REQUEST to the attendees, CANCEL to those no longer invited. */
  async afterWrite(user: InviteUser, before: ICAL.Component[] | null, after: ICAL.Component[] | null): Promise<void> {
    const me = addressOf(user);
    // Only the organizer's own series send (an attendee's copy edited by the attendee does not).
    if (before && organizerOf(before) && organizerOf(before) !== me) return;
    if (after && organizerOf(after) && organizerOf(after) !== me) return;
    const was = attendeesOf(before, me);
    const now = after ? attendeesOf(after, me) : new Set<string>();
    if (after && now.size) await this.send('REQUEST', user, after, [...now]);
    const gone = [...was].filter((a) => !now.has(a));
    if (gone.length && before) {
      const cancelled = before.map((c) => clone(c));
      const m = masterOf(cancelled);
      m.updatePropertyWithValue('status', 'CANCELLED');
      m.updatePropertyWithValue('sequence', ((m.getFirstPropertyValue('sequence') as number | null) ?? 0) + 1);
      await this.send('CANCEL', user, cancelled, gone);
    }
  }

  /** Writes local attendees' copies and mails everyone (outside addresses through the relay). */
  private async send(method: 'REQUEST' | 'CANCEL', user: InviteUser, series: ICAL.Component[], to: string[]): Promise<void> {
    const local: { address: string; userId: string }[] = [];
    const outside: string[] = [];
    for (const address of to) {
      const u = await this.localUser(address);
      if (u) {
        local.push({ address, userId: u.id });
        if (method === 'REQUEST') await this.upsertCopy(u, series);
        else await this.removeCopy(u.id, series);
      } else if (!(await this.ourDomain(address))) outside.push(address);
    }
    await this.mail(method, user, series.map(withoutAlarms), local, outside);
  }

  private async mail(method: string, from: InviteUser, events: ICAL.Component[], local: { address: string; userId: string }[], outside: string[]): Promise<void> {
    if (!local.length && !outside.length) return;
    const d = this.deps;
    const raw = await imipMime({ method, from: { name: from.displayName, address: addressOf(from) }, to: [...local.map((l) => l.address), ...outside], events, hostname: d.mailHosts.smtp, date: d.now() });
    const relay = outside.length && d.outbound ? { to: outside, sender: addressOf(from), serverPublicKey: d.serverKey.publicKey, blobOwnerUserId: from.id } : undefined;
    try {
      const stored = await deliverLocal({ db: d.db, blobs: d.blobs, hostname: d.mailHosts.smtp, now: d.now, logger: { info: () => undefined, warn: () => undefined }, serverPublicKey: d.serverKey.publicKey }, raw, {
        mailFrom: addressOf(from),
        recipients: local,
        ...(relay ? { relay } : {}),
      });
      if (relay && stored.messageId) await d.outbound!.enqueue(stored.messageId);
    } catch (err) {
      // The calendar change stands; the mail is what failed (e.g. a full mailbox).
      throw new ApiError('CALENDAR_INVITATION_NOT_SENT', undefined, `The event was saved, but the ${method} mail could not be delivered: ${(err as Error).message}`);
    } finally {
      raw.fill(0);
    }
  }

  /** The attendee's copy of a series (any of their calendars), found by UID. */
  private async copyOf(userId: string, uid: string) {
    const cals = await this.store.calendars(userId, DEFAULT_NAME);
    const row = await this.deps.db.calendarEvent.findFirst({ where: { calendarId: { in: cals.map((c) => c.id) }, uidDigest: this.store.uidDigest(uid) } });
    return { cals, row };
  }

  /**
   * Whether a stored copy may be changed by mail from `organizer`: only a copy that organizer sent
   * (so a guest reusing the UID of an event cannot overwrite or cancel it in the organizer's own
   * calendar, nor anyone else's copy of it), and only by a REQUEST as new as the copy (SEQUENCE).
   */
  private sentBy(row: { id: string; ics: string }, organizer: string | null, series?: ICAL.Component[]): boolean {
    const stored = this.store.open(row);
    if (!organizer || organizerOf(stored) !== organizer) return false;
    const seq = (s: ICAL.Component[]) => Number(masterOf(s).getFirstPropertyValue('sequence') ?? 0);
    return !series || seq(series) >= seq(stored);
  }

  private async upsertCopy(u: InviteUser, series: ICAL.Component[]): Promise<void> {
    const me = addressOf(u);
    const uid = masterOf(series).getFirstPropertyValue('uid') as string;
    const { cals, row } = await this.copyOf(u.id, uid);
    const copy = series.map(withoutAlarms);
    if (row) {
      if (!this.sentBy(row, organizerOf(series), series)) return;
      // Keep the attendee's own answer (an update does not undo an acceptance).
      const mine = masterOf(this.store.open(row))
        .getAllProperties('attendee')
        .find((p) => mailto(p.getFirstValue()) === me);
      const partstat = mine?.getParameter('partstat');
      if (typeof partstat === 'string') for (const c of copy) for (const p of c.getAllProperties('attendee')) if (mailto(p.getFirstValue()) === me) p.setParameter('partstat', partstat);
      await this.deps.db.calendarEvent.update({ where: { id: row.id }, data: this.store.row(row.id, copy, (e) => this.wrap(e)) });
    } else {
      const cal = cals.find((c) => c.isDefault) ?? cals[0]!;
      // A guest's full calendar takes no more copies (the invitation mail still reaches them):
      // a colleague's many invitations cannot grow it without end.
      if (!(await this.store.hasRoom(cal.id))) return;
      const id = randomUUID();
      await this.deps.db.calendarEvent.create({ data: { id, calendarId: cal.id, ...this.store.row(id, copy, (e) => this.wrap(e)) } });
    }
  }

  private async removeCopy(userId: string, series: ICAL.Component[]): Promise<void> {
    const { row } = await this.copyOf(userId, masterOf(series).getFirstPropertyValue('uid') as string);
    if (row && this.sentBy(row, organizerOf(series))) await this.deps.db.calendarEvent.delete({ where: { id: row.id } });
  }

  private wrap(events: ICAL.Component[]): string {
    const cal = new ICAL.Component('vcalendar');
    cal.addPropertyWithValue('prodid', '-//Sealmail//Calendar//EN');
    cal.addPropertyWithValue('version', '2.0');
    for (const e of events) cal.addSubcomponent(e);
    return cal.toString();
  }

  /**
   * The attendee answers: their copy's PARTSTAT, then the organizer's (directly when local) and a
   * REPLY mail to the organizer (through the relay when outside). Returns the updated copy.
   */
  async respond(user: InviteUser, row: { id: string; ics: string }, partstat: Partstat): Promise<ICAL.Component[]> {
    const me = addressOf(user);
    const series = this.store.open(row);
    const organizer = organizerOf(series);
    if (!organizer || organizer === me) throw new ApiError('CALENDAR_NOT_INVITED', undefined, 'You organise this event; only its attendees answer invitations.');
    let found = false;
    for (const c of series)
      for (const p of c.getAllProperties('attendee'))
        if (mailto(p.getFirstValue()) === me) {
          p.setParameter('partstat', partstat);
          found = true;
        }
    if (!found) throw new ApiError('CALENDAR_NOT_INVITED');
    await this.deps.db.calendarEvent.update({ where: { id: row.id }, data: this.store.row(row.id, series, (e) => this.wrap(e)) });

    // The REPLY: the master with the organizer and only this attendee (RFC 5546 §3.2.3).
    const reply = withoutAlarms(masterOf(series));
    for (const p of reply.getAllProperties('attendee')) if (mailto(p.getFirstValue()) !== me) reply.removeProperty(p);
    reply.removeAllProperties('rrule');
    reply.removeAllProperties('rdate');
    reply.removeAllProperties('exdate');
    reply.updatePropertyWithValue('dtstamp', ICAL.Time.fromJSDate(this.deps.now(), true));
    const orgUser = await this.localUser(organizer);
    if (orgUser) await this.applyReply(orgUser, [reply], me);
    await this.mail('REPLY', user, [reply], orgUser ? [{ address: organizer, userId: orgUser.id }] : [], orgUser || (await this.ourDomain(organizer)) ? [] : [organizer]);
    return series;
  }

  /** Applies a REPLY of `attendee` to the organizer's series; the outcome names what happened. */
  async applyReply(org: InviteUser, events: ICAL.Component[], attendee: string): Promise<'applied' | 'no-event' | 'not-organizer' | 'not-attendee' | 'stale'> {
    const reply = masterOf(events);
    const uid = reply.getFirstPropertyValue('uid') as string | null;
    if (!uid) return 'no-event';
    const { row } = await this.copyOf(org.id, uid);
    if (!row) return 'no-event';
    const series = this.store.open(row);
    if (organizerOf(series) !== addressOf(org)) return 'not-organizer';
    const answer = reply.getAllProperties('attendee').find((p) => mailto(p.getFirstValue()) === attendee);
    const partstat = String(answer?.getParameter('partstat') ?? '').toUpperCase();
    if (!answer || !['ACCEPTED', 'TENTATIVE', 'DECLINED', 'NEEDS-ACTION', 'DELEGATED'].includes(partstat)) return 'not-attendee';
    const master = masterOf(series);
    if (((reply.getFirstPropertyValue('sequence') as number | null) ?? 0) < ((master.getFirstPropertyValue('sequence') as number | null) ?? 0)) return 'stale';
    let found = false;
    for (const c of series)
      for (const p of c.getAllProperties('attendee'))
        if (mailto(p.getFirstValue()) === attendee) {
          p.setParameter('partstat', partstat);
          found = true;
        }
    if (!found) return 'not-attendee';
    await this.deps.db.calendarEvent.update({ where: { id: row.id }, data: this.store.row(row.id, series, (e) => this.wrap(e)) });
    return 'applied';
  }

  private openItip(row: { id: string; box: Uint8Array | null }): ICAL.Component[][] {
    if (!row.box) return [];
    const text = new TextDecoder().decode(openBox({ box: row.box, recipientSecretKey: this.deps.serverKey.secretKey, purpose: 'calendar-itip', context: utf8(row.id) }));
    return seriesOf(parseIcs(text));
  }

  /** Applies the REPLYs the SMTP ingress accepted for this organizer; COUNTERs wait for a decision. */
  async applyPending(userId: string): Promise<void> {
    const rows = await this.deps.db.calendarItip.findMany({ where: { userId, verdict: 'accepted', processedAt: null }, orderBy: { createdAt: 'asc' }, take: 100 });
    if (!rows.length) return;
    const org = await this.deps.db.user.findUnique({ where: { id: userId }, select: { id: true, localPart: true, displayName: true, domainId: true, domain: { select: { name: true } } } });
    if (!org) return;
    for (const r of rows) {
      let outcome: string;
      try {
        const all = this.openItip(r);
        if (r.method === 'COUNTER') outcome = all.length ? 'countered' : 'malformed';
        else {
          const outcomes = [];
          for (const events of all) outcomes.push(await this.applyReply(org, events, r.sender.toLowerCase()));
          outcome = outcomes.includes('applied') ? 'applied' : (outcomes[0] ?? 'malformed');
        }
      } catch {
        outcome = 'malformed';
      }
      const done = await this.deps.db.calendarItip.updateMany({ where: { id: r.id, processedAt: null }, data: { processedAt: this.deps.now(), outcome, ...(outcome === 'countered' ? {} : { box: null }) } });
      void done;
    }
  }

  /** Proposals (COUNTER) waiting for the organizer. */
  async counters(userId: string) {
    await this.applyPending(userId);
    const rows = await this.deps.db.calendarItip.findMany({ where: { userId, method: 'COUNTER', outcome: 'countered' }, orderBy: { createdAt: 'asc' }, take: 100 });
    return rows.flatMap((r) => {
      const ev = this.openItip(r)[0];
      if (!ev) return [];
      const m = masterOf(ev);
      const e = new ICAL.Event(m);
      return [{ id: r.id, from: r.sender, uid: e.uid, title: e.summary ?? '', proposedStart: e.startDate.toJSDate().toISOString(), proposedEnd: (e.endDate ?? e.startDate).toJSDate().toISOString(), receivedAt: r.createdAt.toISOString() }];
    });
  }

  /** Declines a proposal: DECLINECOUNTER to its sender; the proposal is forgotten. */
  async declineCounter(user: InviteUser, itipId: string): Promise<void> {
    const row = await this.deps.db.calendarItip.findFirst({ where: { id: itipId, userId: user.id, method: 'COUNTER', outcome: 'countered' } });
    if (!row) throw new ApiError('NOT_FOUND');
    const ev = this.openItip(row)[0];
    if (ev) {
      const proposal = masterOf(ev);
      const uid = proposal.getFirstPropertyValue('uid') as string;
      const { row: mine } = await this.copyOf(user.id, uid);
      // DECLINECOUNTER (RFC 5546 §3.2.8): the organizer's current event, to the proposer.
      const current = mine ? withoutAlarms(masterOf(this.store.open(mine))) : withoutAlarms(proposal);
      // Someone who is not (or no longer) a guest learns nothing of the event: no answer at all.
      const guest = current.getAllProperties('attendee').some((p) => mailto(p.getFirstValue()) === row.sender);
      for (const p of current.getAllProperties('attendee')) if (mailto(p.getFirstValue()) !== row.sender) current.removeProperty(p);
      current.removeAllProperties('rrule');
      current.updatePropertyWithValue('dtstamp', ICAL.Time.fromJSDate(this.deps.now(), true));
      const local = await this.localUser(row.sender);
      if (!mine || guest) await this.mail('DECLINECOUNTER', user, [current], local ? [{ address: row.sender, userId: local.id }] : [], local ? [] : [row.sender]);
    }
    await this.deps.db.calendarItip.update({ where: { id: row.id }, data: { outcome: 'declined', box: null } });
  }

  /** What the reader's invitation card needs: the user's copy, their answer, and clashes. */
  async inspect(userId: string, ics: string) {
    const cal = parseIcs(ics);
    const method = String(cal.getFirstPropertyValue('method') ?? 'REQUEST').toUpperCase();
    const series = seriesOf(cal)[0];
    if (!series) return { method, copy: null };
    const uid = masterOf(series).getFirstPropertyValue('uid') as string;
    const { row } = await this.copyOf(userId, uid);
    return { method, copy: row };
  }
}
