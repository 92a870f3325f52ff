/**
 * Out-of-office replies (docs/mail.md "Out-of-office", RFC 3834): the texts are sealed at rest with
 * the server's SecretBox (MISSION §2: server-encrypted, like calendar events). A reply goes once
 * per sender per period (a period starts each time the user saves), never to the null sender,
 * no-reply or list-administrative addresses, mailing lists or bulk mail, nor to anything
 * auto-submitted. It carries `Auto-Submitted: auto-replied` and `In-Reply-To`, comes from the
 * address the mail came to, and goes to outside senders through the outbound relay (DKIM-signed)
 * or, for a colleague, into their mailbox sealed by the server.
 */
import { randomUUID } from 'node:crypto';
import { buildMime } from '@sealmail/client/identity';
import type { Db } from '@sealmail/db';
import { deliverLocal, type LocalDeliveryDeps } from './deliver-local';
import type { SecretBox } from './secret-box';

export const OOO_SUBJECT = 'ooo.subject';
export const OOO_TEXT = 'ooo.text';
export const OOO_OUTSIDE_TEXT = 'ooo.outside-text';

/** Header fields of a message as it arrived, lower-case names, unfolded values. */
export type HeaderFields = Map<string, string[]>;

/** Reads the header section of a raw message (at most its first 256 KiB). */
export function readHeaderFields(raw: Uint8Array): HeaderFields {
  const head = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, 256 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const fields: HeaderFields = new Map();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** Local parts that never get automatic replies (RFC 3834 §2, RFC 2142 role addresses, list software). */
const NO_REPLY = /^(?:no-?reply|do-?not-?reply|noreply-.*|.*-noreply|mailer-daemon|postmaster|listserv|majordomo|bounces?|bounce-.*|.*-bounces?|owner-.*|.*-owner|.*-request)$/i;

/**
 * Why this message must get no automatic reply (RFC 3834 §2), or null when one may be sent:
 * the null sender, no-reply addresses, Auto-Submitted other than "no", Precedence bulk/list/junk,
 * mailing list fields (List-Id, List-Unsubscribe, List-Post), or X-Auto-Response-Suppress.
 */
export function autoReplyRefusal(fields: HeaderFields, envelopeSender: string): string | null {
  const sender = envelopeSender.trim().toLowerCase();
  if (!sender || !sender.includes('@')) return 'null sender';
  if (NO_REPLY.test(sender.slice(0, sender.lastIndexOf('@')))) return 'no-reply address';
  const one = (n: string) => fields.get(n) ?? [];
  if (one('auto-submitted').some((v) => v.split(';')[0]!.trim().toLowerCase() !== 'no')) return 'auto-submitted';
  if (one('precedence').some((v) => /^(bulk|list|junk)$/i.test(v.trim()))) return 'bulk';
  if (['list-id', 'list-unsubscribe', 'list-post', 'list-help'].some((n) => one(n).length)) return 'mailing list';
  if (one('x-auto-response-suppress').some((v) => /\b(oof|all)\b/i.test(v))) return 'suppressed';
  return null;
}

/** Whether the settings are on at `now` (between their dates, when set). */
export function outOfOfficeActive(o: { enabled: boolean; startsAt: Date | null; endsAt: Date | null }, now: Date): boolean {
  return o.enabled && (!o.startsAt || o.startsAt <= now) && (!o.endsAt || o.endsAt > now);
}

export interface OutOfOfficeDeps extends LocalDeliveryDeps {
  secrets: SecretBox;
}

export interface OutOfOfficeInput {
  /** The mailbox the mail came to, and the address it came to (the reply's From). */
  userId: string;
  address: string;
  /** Where the reply goes: the envelope sender (RFC 3834 §4). */
  replyTo: string;
  /** The sender's mailbox here, for a colleague's mail (sealed into their Inbox); else relayed outside. */
  senderUserId?: string;
  /** Outside the organisation: gets the outside text when the user set one. */
  outside: boolean;
  /** The Message-ID (no angle brackets) and References of the mail answered. */
  inReplyTo?: string;
  references?: readonly string[];
}

/**
 * Sends the user's out-of-office reply to this sender if it is on and they got none this period.
 * The claim (a row per user, period and sender) is taken before sending, so two mails at once
 * give one reply. Resolves whether a reply was sent.
 */
export async function replyOutOfOffice(deps: OutOfOfficeDeps, input: OutOfOfficeInput): Promise<boolean> {
  const o = await deps.db.outOfOffice.findUnique({ where: { userId: input.userId } });
  const now = deps.now();
  if (!o || !outOfOfficeActive(o, now)) return false;
  const sender = input.replyTo.trim().toLowerCase();
  if (sender === input.address.toLowerCase()) return false;
  if (!input.senderUserId && !deps.serverPublicKey) return false;
  const claimed = await deps.db.outOfOfficeReply.createMany({ data: [{ userId: input.userId, periodId: o.periodId, sender, repliedAt: now }], skipDuplicates: true });
  if (claimed.count !== 1) return false;
  const text = (input.outside && o.outsideText ? deps.secrets.open(OOO_OUTSIDE_TEXT, input.userId, o.outsideText) : null) ?? deps.secrets.open(OOO_TEXT, input.userId, o.text) ?? '';
  const subject = deps.secrets.open(OOO_SUBJECT, input.userId, o.subject) ?? 'Out of office';
  const user = await deps.db.user.findUnique({ where: { id: input.userId }, select: { displayName: true } });
  const autoSubmitted = [['Auto-Submitted', 'auto-replied'] as const];
  const raw = buildMime({
    from: { name: user?.displayName ?? '', address: input.address },
    to: [sender],
    cc: [],
    subject,
    text,
    date: now,
    messageId: `${randomUUID()}@${deps.hostname}`,
    inReplyTo: input.inReplyTo,
    references: [...(input.references ?? []), ...(input.inReplyTo ? [input.inReplyTo] : [])].slice(-20),
    attachments: [],
    extraHeaders: autoSubmitted,
  });
  try {
    await deliverLocal(deps, raw, {
      mailFrom: input.address,
      recipients: input.senderUserId ? [{ address: sender, userId: input.senderUserId }] : [],
      extraHeaders: autoSubmitted,
      ...(input.senderUserId ? {} : { relay: { to: [sender], sender: input.address, serverPublicKey: deps.serverPublicKey!, blobOwnerUserId: input.userId } }),
    });
  } finally {
    raw.fill(0);
  }
  deps.logger.info({ outside: input.outside }, 'mail: out-of-office reply sent');
  return true;
}

/** Seals the texts for storage (the route and tests use this; the ingress only opens). */
export function sealOutOfOfficeTexts(secrets: SecretBox, userId: string, t: { subject: string; text: string; outsideText: string | null }) {
  return {
    subject: secrets.seal(OOO_SUBJECT, userId, t.subject),
    text: secrets.seal(OOO_TEXT, userId, t.text),
    outsideText: t.outsideText === null ? null : secrets.seal(OOO_OUTSIDE_TEXT, userId, t.outsideText),
  };
}

/** Opens stored settings for their owner. */
export function openOutOfOffice(secrets: SecretBox, o: { userId: string; enabled: boolean; startsAt: Date | null; endsAt: Date | null; subject: string; text: string; outsideText: string | null }) {
  return {
    enabled: o.enabled,
    startsAt: o.startsAt?.toISOString() ?? null,
    endsAt: o.endsAt?.toISOString() ?? null,
    subject: secrets.open(OOO_SUBJECT, o.userId, o.subject) ?? '',
    text: secrets.open(OOO_TEXT, o.userId, o.text) ?? '',
    outsideText: o.outsideText === null ? null : (secrets.open(OOO_OUTSIDE_TEXT, o.userId, o.outsideText) ?? ''),
  };
}

/** Unused rows of old periods are harmless; this keeps the table small when settings are saved. */
export async function forgetOldReplies(db: Db, userId: string, periodId: string): Promise<void> {
  await db.outOfOfficeReply.deleteMany({ where: { userId, periodId: { not: periodId } } });
}
