/**
 * iTIP over mail from outside (RFC 5546/6047, docs/calendar.md "Invitations"): a REPLY or COUNTER
 * that reaches a local mailbox is recorded for the API to apply to the organizer's event — but
 * only when the mail's From is the one ATTENDEE the iCalendar names and the From domain is
 * aligned with a passing SPF (envelope sender) or DKIM (signing domain) result of this ingress.
 * Anything else is recorded as refused, with the reason, and changes nothing. The iCalendar text
 * of an accepted one is boxed to the server's mail key (the API opens it); a refused one keeps
 * none. The mail itself is delivered as usual either way.
 */
import ICAL from 'ical.js';
import { simpleParser } from 'mailparser';
import type { AuthenticateResult } from 'mailauth';
import { randomUUID } from 'node:crypto';
import { sealBox } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import type { Logger } from '@sealmail/server';
import { sameOrganisation } from './spam';

const METHODS = new Set(['REPLY', 'COUNTER']);
/** Largest iCalendar part looked at (a REPLY is a few hundred bytes). */
const MAX_ICS = 256 * 1024;

export interface ItipVerdict {
  method: string;
  sender: string;
  verdict: 'accepted' | 'refused';
  reason: string | null;
  ics: string;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
const mailto = (v: unknown) => String(v ?? '').replace(/^mailto:/i, '').trim().toLowerCase();

/** The iTIP verdict of a message, or null when it carries no REPLY/COUNTER. */
export async function itipVerdict(raw: Buffer, auth: Pick<AuthenticateResult, 'spf' | 'dkim'>): Promise<ItipVerdict | null> {
  if (!/text\/calendar/i.test(raw.subarray(0, 2 * 1024 * 1024).toString('latin1'))) return null;
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  const part = parsed.attachments.find((a) => /^text\/calendar$/i.test(a.contentType) && a.content.length <= MAX_ICS);
  if (!part) return null;
  const ics = part.content.toString('utf8');
  let cal: ICAL.Component;
  try {
    cal = new ICAL.Component(ICAL.parse(ics) as unknown[]);
  } catch {
    return null;
  }
  const method = String(cal.getFirstPropertyValue('method') ?? '').toUpperCase();
  if (!METHODS.has(method)) return null;
  const froms = parsed.from?.value.map((v) => (v.address ?? '').toLowerCase()).filter(Boolean) ?? [];
  const sender = froms[0] ?? '';
  const refuse = (reason: string): ItipVerdict => ({ method, sender, verdict: 'refused', reason, ics });
  if (froms.length !== 1) return refuse('the mail must have exactly one From address');
  const attendees = new Set(cal.getAllSubcomponents('vevent').flatMap((e) => e.getAllProperties('attendee').map((p) => mailto(p.getFirstValue()))));
  if (attendees.size !== 1) return refuse(`a ${method} must name exactly one ATTENDEE (found ${attendees.size})`);
  const attendee = [...attendees][0]!;
  if (attendee !== sender) return refuse(`the ATTENDEE ${attendee.slice(0, 200)} is not the From address ${sender.slice(0, 200)}`);
  const fromDomain = domainOf(sender);
  const spf = auth.spf && auth.spf.status.result === 'pass' && sameOrganisation(auth.spf.domain, fromDomain);
  const dkim = (auth.dkim?.results ?? []).some((r) => r.status.result === 'pass' && sameOrganisation(r.signingDomain, fromDomain));
  if (!spf && !dkim) return refuse(`the From domain ${fromDomain} is not aligned with a passing SPF or DKIM result`);
  return { method, sender, verdict: 'accepted', reason: null, ics };
}

/** Records the verdict for each local mailbox the message reached (never fails the delivery). */
export async function recordItip(deps: { db: Db; logger: Logger; serverPublicKey?: Uint8Array }, raw: Buffer, auth: Pick<AuthenticateResult, 'spf' | 'dkim'>, recipients: readonly { userId: string }[]): Promise<void> {
  if (recipients.length === 0) return;
  try {
    const v = await itipVerdict(raw, auth);
    if (!v) return;
    for (const r of recipients) {
      const id = randomUUID();
      const accepted = v.verdict === 'accepted' && deps.serverPublicKey;
      const box = accepted ? sealBox({ recipientPublicKey: deps.serverPublicKey!, purpose: 'calendar-itip', context: new TextEncoder().encode(id), plaintext: new TextEncoder().encode(v.ics) }) : null;
      const reason = v.reason ?? (accepted ? null : 'this ingress has no server mail key');
      await deps.db.calendarItip.create({
        data: { id, userId: r.userId, method: v.method, sender: v.sender.slice(0, 320), verdict: accepted ? 'accepted' : 'refused', reason, ...(box ? { box: new Uint8Array(box) } : {}), ...(accepted ? {} : { processedAt: new Date(), outcome: 'refused' }) },
      });
      deps.logger.info({ itip: id, method: v.method, verdict: accepted ? 'accepted' : 'refused', reason }, 'smtp: iTIP recorded');
    }
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message }, 'smtp: iTIP not recorded');
  }
}
