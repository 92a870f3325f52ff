/**
 * Calendar storage (docs/calendar.md "Encryption at rest"). The calendar is server-encrypted, not
 * end-to-end (MISSION §2: other calendars must read invitations and feeds): each series' iCalendar
 * text and each calendar's name are sealed with the server's SecretBox (apps/api/src/auth/
 * secret-box.ts: AES-256-GCM under a key derived with HKDF from the server mail key), bound to the
 * row's id so a sealed value cannot be moved to another row. In the clear: span (UTC), recurrence
 * lines and transparency, which free/busy and reminders need; the UID only as an HMAC.
 */
import { createHash, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type ICAL from 'ical.js';
import { ApiError, MAX_EVENTS_PER_CALENDAR } from '@sealmail/contract';
import type { ApiDeps } from '../deps';
import { IcsError, icsErrorCode, parseIcs, seriesOf, summarise } from './ical';

const PALETTE = '#3366cc';

export class CalendarStore {
  readonly #uidKey: Buffer;
  constructor(private readonly deps: ApiDeps) {
    this.#uidKey = Buffer.from(hkdfSync('sha256', deps.serverKey.secretKey, Buffer.alloc(0), 'sealmail/calendar-uid/v1', 32));
  }

  uidDigest(uid: string): string {
    return createHmac('sha256', this.#uidKey).update(uid).digest('hex');
  }

  sealName(id: string, name: string): string {
    return this.deps.secrets.seal('calendar.name', id, name);
  }
  openName(c: { id: string; name: string }): string {
    return this.deps.secrets.open('calendar.name', c.id, c.name) ?? '';
  }

  /** True when calendar `id` can take `adding` more events (MAX_EVENTS_PER_CALENDAR). */
  async hasRoom(id: string, adding = 1, db: Pick<ApiDeps['db'], 'calendarEvent'> = this.deps.db): Promise<boolean> {
    return (await db.calendarEvent.count({ where: { calendarId: id } })) + adding <= MAX_EVENTS_PER_CALENDAR;
  }

  /** CALENDAR_FULL unless calendar `id` can take `adding` more events. */
  async assertRoom(id: string, adding = 1, db?: Pick<ApiDeps['db'], 'calendarEvent'>): Promise<void> {
    if (!(await this.hasRoom(id, adding, db))) throw new ApiError('CALENDAR_FULL');
  }

  /** The user's calendars; the default one is made on first use. */
  async calendars(userId: string, defaultName: string) {
    const list = await this.deps.db.calendar.findMany({ where: { userId }, orderBy: [{ isDefault: 'desc' }, { createdAt: 'asc' }] });
    if (list.length > 0) return list;
    // Two first requests at once (the view and its calendar list) must make one default calendar.
    await this.deps.db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`sealmail-calendar-default:${userId}`}))`;
      if ((await tx.calendar.count({ where: { userId } })) > 0) return;
      const id = randomUUID();
      await tx.calendar.create({ data: { id, userId, name: this.sealName(id, defaultName), color: PALETTE, isDefault: true } });
    });
    return this.deps.db.calendar.findMany({ where: { userId }, orderBy: [{ isDefault: 'desc' }, { createdAt: 'asc' }] });
  }

  /** The caller's own calendar, or NOT_FOUND (another user's is indistinguishable from none). */
  async own(userId: string, id: string) {
    const c = await this.deps.db.calendar.findFirst({ where: { id, userId } });
    if (!c) throw new ApiError('NOT_FOUND');
    return c;
  }

  /**
   * A calendar the caller owns or was granted (docs/calendar.md "Delegation"): `manage` needs the
   * owner or a manage grant (a view grant answers CALENDAR_READ_ONLY); anything else NOT_FOUND.
   */
  async access(userId: string, id: string, need: 'view' | 'manage') {
    const c = await this.deps.db.calendar.findFirst({ where: { id, OR: [{ userId }, { grants: { some: { granteeId: userId } } }] }, include: { grants: { where: { granteeId: userId } } } });
    if (!c) throw new ApiError('NOT_FOUND');
    const delegated = c.userId !== userId;
    if (delegated && need === 'manage' && c.grants[0]?.level !== 'manage') throw new ApiError('CALENDAR_READ_ONLY');
    return { ...c, delegated };
  }

  async event(calendarId: string, eventId: string) {
    const e = await this.deps.db.calendarEvent.findFirst({ where: { id: eventId, calendarId } });
    if (!e) throw new ApiError('NOT_FOUND');
    return e;
  }

  /** The VEVENTs of a stored series. */
  open(e: { id: string; ics: string }): ICAL.Component[] {
    const text = this.deps.secrets.open('calendar.event', e.id, e.ics);
    if (text === null) throw new ApiError('INTERNAL', undefined, 'A calendar event could not be opened with the server key.');
    return seriesOf(parseIcs(text))[0] ?? [];
  }

  /** The row data of a series (sealed text and clear summary). */
  row(id: string, series: ICAL.Component[], wrap: (events: ICAL.Component[]) => string) {
    const s = summarise(series);
    return { ics: this.deps.secrets.seal('calendar.event', id, wrap(series)), uidDigest: this.uidDigest(s.uid), startUtc: s.startUtc, endUtc: s.endUtc, recurrence: s.recurrence, transparent: s.transparent };
  }
}

/** A new feed token and its stored hash. */
export function newFeedToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: feedTokenHash(token) };
}
export const feedTokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** IcsError → registry error. */
export function icsApiError(err: unknown, field = 'body'): never {
  if (err instanceof IcsError) {
    throw new ApiError(icsErrorCode(err), field, err.message);
  }
  throw err;
}
