/**
 * Mail activity of one account, from metadata only (docs/admin.md, "Mail activity", "Reports"):
 * which messages match a trace or search, each one's route (mailboxes, outside deliveries, links),
 * and daily counts. Never reads envelopes, boxes or bodies. Every query is scoped to the account:
 * a message is the account's when one of its users sent it or one of its mailboxes holds it.
 */
import { ApiError } from '@sealmail/contract';
import type { Db } from '@sealmail/db';

export interface MailFilters {
  sender?: string | undefined;
  recipient?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  messageId?: string | undefined;
  before?: string | undefined;
  /** Part of an address, matched against the sender and every recipient. */
  party?: string | undefined;
  minSize?: number | undefined;
}

export type Direction = 'inbound' | 'outbound' | 'internal';

export interface ActivityMessage {
  id: string;
  mailId: string;
  direction: Direction;
  sender: string;
  to: string[];
  cc: string[];
  sentAt: string;
  size: number;
  attachments: number;
  protection: 'e2ee' | 'server';
  mailboxes: { address: string; role: string; folder: string; deliveredAt: string }[];
  outbound: { recipient: string; kind: 'mail' | 'link-notice'; status: 'queued' | 'delivered' | 'failed' | 'cancelled'; attempts: number; lastError: string | null; bouncedAt: string | null; updatedAt: string }[];
  links: { recipient: string; expiresAt: string; expiredAt: string | null; openCount: number; lastOpenedAt: string | null }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** An address of a user: `local@domain`, in SQL, for users `u` joined to domains `d`. */
const USER_ADDRESS = `(u.local_part || '@' || d.name)`;

type MessageRow = { id: string; mail_id: string; sender_address: string; to_addresses: string[]; cc_addresses: string[]; protection: 'e2ee' | 'server'; size: string; attachments: number; sent_at: Date; sender_in_account: boolean };

/**
 * The account's messages matching the filters, newest first; one more than `limit` when there is
 * a next page. Drafts and the public copies of expiring links are not messages of their own here.
 */
export async function findAccountMessages(db: Db, accountId: string, f: MailFilters, limit: number): Promise<{ messages: ActivityMessage[]; nextBefore: string | null }> {
  const params: unknown[] = [accountId];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = [
    `(m.sender_user_id IN (SELECT id FROM users WHERE account_id = $1::uuid)
      OR EXISTS (SELECT 1 FROM mailbox_entries e JOIN users u ON u.id = e.user_id WHERE e.message_id = m.id AND u.account_id = $1::uuid))`,
    `NOT EXISTS (SELECT 1 FROM mail_links l WHERE l.message_id = m.id)`,
    `NOT EXISTS (SELECT 1 FROM mailbox_entries e WHERE e.message_id = m.id AND e.role = 'sender-copy' AND e.folder = 'drafts')`,
  ];
  // Stored lower-case (deliverLocal, mail send), so the (sender_address, sent_at) index serves it.
  if (f.sender) where.push(`m.sender_address = ${p(f.sender)}`);
  if (f.recipient) {
    const r = p(f.recipient);
    where.push(`(EXISTS (SELECT 1 FROM unnest(m.to_addresses || m.cc_addresses) a WHERE lower(a) = ${r})
      OR EXISTS (SELECT 1 FROM mailbox_entries e JOIN users u ON u.id = e.user_id JOIN domains d ON d.id = u.domain_id WHERE e.message_id = m.id AND e.role <> 'sender-copy' AND ${USER_ADDRESS} = ${r})
      OR EXISTS (SELECT 1 FROM outbound_deliveries o WHERE o.message_id = m.id AND lower(o.recipient) = ${r}))`);
  }
  if (f.party) {
    const like = p(`%${likeEscape(f.party)}%`);
    where.push(`(lower(m.sender_address) LIKE ${like} ESCAPE '\\'
      OR EXISTS (SELECT 1 FROM unnest(m.to_addresses || m.cc_addresses) a WHERE lower(a) LIKE ${like} ESCAPE '\\')
      OR EXISTS (SELECT 1 FROM mailbox_entries e JOIN users u ON u.id = e.user_id JOIN domains d ON d.id = u.domain_id WHERE e.message_id = m.id AND u.account_id = $1::uuid AND e.role <> 'sender-copy' AND ${USER_ADDRESS} LIKE ${like} ESCAPE '\\')
      OR EXISTS (SELECT 1 FROM outbound_deliveries o WHERE o.message_id = m.id AND lower(o.recipient) LIKE ${like} ESCAPE '\\'))`);
  }
  if (f.from) where.push(`m.sent_at >= ${p(f.from)}::timestamptz`);
  if (f.to) where.push(`m.sent_at < ${p(f.to)}::timestamptz`);
  if (f.minSize !== undefined) where.push(`m.size >= ${p(f.minSize)}::bigint`);
  if (f.messageId) where.push(UUID.test(f.messageId) ? `(m.id = ${p(f.messageId)}::uuid OR m.mail_id = ${p(f.messageId)})` : `m.mail_id = ${p(f.messageId)}`);
  if (f.before) {
    const cut = f.before.lastIndexOf('_');
    const at = new Date(f.before.slice(0, cut));
    if (Number.isNaN(at.getTime()) || !UUID.test(f.before.slice(cut + 1))) throw new ApiError('VALIDATION_FAILED', 'querystring.before', 'querystring.before: expected the nextBefore of a previous page');
    where.push(`(m.sent_at, m.id) < (${p(f.before.slice(0, cut))}::timestamptz, ${p(f.before.slice(cut + 1))}::uuid)`);
  }
  const rows = await db.$queryRawUnsafe<MessageRow[]>(
    `SELECT m.id::text AS id, m.mail_id, m.sender_address, m.to_addresses, m.cc_addresses, m.protection::text AS protection, m.size::text AS size,
            cardinality(m.attachment_sizes) AS attachments, m.sent_at,
            (m.sender_user_id IS NOT NULL AND m.sender_user_id IN (SELECT id FROM users WHERE account_id = $1::uuid)) AS sender_in_account
     FROM messages m WHERE ${where.join(' AND ')}
     ORDER BY m.sent_at DESC, m.id DESC LIMIT ${p(limit + 1)}`,
    ...params,
  );
  const page = rows.slice(0, limit);
  const ids = page.map((r) => r.id);
  const [entries, deliveries, links] = ids.length
    ? await Promise.all([
        db.mailboxEntry.findMany({
          where: { messageId: { in: ids }, user: { accountId } },
          select: { messageId: true, role: true, folder: true, receivedAt: true, user: { select: { localPart: true, domain: { select: { name: true } } } } },
          orderBy: { receivedAt: 'asc' },
        }),
        db.outboundDelivery.findMany({ where: { OR: [{ messageId: { in: ids } }, { link: { sourceMessageId: { in: ids } } }] }, orderBy: { recipient: 'asc' } }),
        db.mailLink.findMany({ where: { sourceMessageId: { in: ids } }, orderBy: { recipient: 'asc' } }),
      ])
    : [[], [], []];
  const messages = page.map((r): ActivityMessage => {
    const mine = links.filter((l) => l.sourceMessageId === r.id);
    const outbound = deliveries.filter((d) => d.messageId === r.id || (d.linkId !== null && mine.some((l) => l.id === d.linkId)));
    return {
      id: r.id,
      mailId: r.mail_id,
      direction: !r.sender_in_account ? 'inbound' : outbound.length > 0 || mine.length > 0 ? 'outbound' : 'internal',
      sender: r.sender_address,
      to: r.to_addresses,
      cc: r.cc_addresses,
      sentAt: r.sent_at.toISOString(),
      size: Number(r.size),
      attachments: r.attachments,
      protection: r.protection,
      mailboxes: entries
        .filter((e) => e.messageId === r.id)
        .map((e) => ({ address: `${e.user.localPart}@${e.user.domain.name}`, role: e.role, folder: e.folder, deliveredAt: e.receivedAt.toISOString() })),
      outbound: outbound.map((d) => ({
        recipient: d.recipient,
        kind: d.linkId ? 'link-notice' : 'mail',
        status: d.status,
        attempts: d.attempts,
        lastError: d.lastError,
        bouncedAt: d.bouncedAt?.toISOString() ?? null,
        updatedAt: d.updatedAt.toISOString(),
      })),
      links: mine.map((l) => ({ recipient: l.recipient, expiresAt: l.expiresAt.toISOString(), expiredAt: l.expiredAt?.toISOString() ?? null, openCount: l.openCount, lastOpenedAt: l.lastOpenedAt?.toISOString() ?? null })),
    };
  });
  const last = page[page.length - 1];
  return { messages, nextBefore: rows.length > limit && last ? `${last.sent_at.toISOString()}_${last.id}` : null };
}

export interface DayCounts {
  day: string;
  inbound: number;
  outbound: number;
  spam: number;
  bounces: number;
}

/** Daily counts (UTC days) from `from` to `to` inclusive, each day present (zero when nothing happened). */
export async function dailyReport(db: Db, accountId: string, from: string, to: string): Promise<DayCounts[]> {
  const start = `${from}T00:00:00Z`;
  const end = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString();
  type Count = { day: string; n: string };
  const dayOf = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
  const [volume, spam, bounces] = await Promise.all([
    db.$queryRawUnsafe<{ day: string; inbound: string; outbound: string }[]>(
      `WITH acct AS (SELECT id FROM users WHERE account_id = $1::uuid)
       SELECT ${dayOf('m.sent_at')} AS day,
              count(*) FILTER (WHERE m.sender_user_id IS NULL OR m.sender_user_id NOT IN (SELECT id FROM acct))::text AS inbound,
              count(*) FILTER (WHERE m.sender_user_id IN (SELECT id FROM acct))::text AS outbound
       FROM messages m
       WHERE m.sent_at >= $2::timestamptz AND m.sent_at < $3::timestamptz
         AND NOT EXISTS (SELECT 1 FROM mail_links l WHERE l.message_id = m.id)
         AND NOT EXISTS (SELECT 1 FROM mailbox_entries e WHERE e.message_id = m.id AND e.role = 'sender-copy' AND e.folder = 'drafts')
         AND (m.sender_user_id IN (SELECT id FROM acct) OR EXISTS (SELECT 1 FROM mailbox_entries e WHERE e.message_id = m.id AND e.user_id IN (SELECT id FROM acct)))
       GROUP BY 1`,
      accountId,
      start,
      end,
    ),
    db.$queryRawUnsafe<Count[]>(
      `SELECT ${dayOf('e.received_at')} AS day, count(*)::text AS n FROM mailbox_entries e JOIN users u ON u.id = e.user_id
       WHERE u.account_id = $1::uuid AND e.folder = 'spam' AND e.received_at >= $2::timestamptz AND e.received_at < $3::timestamptz GROUP BY 1`,
      accountId,
      start,
      end,
    ),
    db.$queryRawUnsafe<Count[]>(
      `SELECT ${dayOf('o.bounced_at')} AS day, count(*)::text AS n FROM outbound_deliveries o JOIN messages m ON m.id = o.message_id
       WHERE m.sender_user_id IN (SELECT id FROM users WHERE account_id = $1::uuid) AND o.bounced_at >= $2::timestamptz AND o.bounced_at < $3::timestamptz GROUP BY 1`,
      accountId,
      start,
      end,
    ),
  ]);
  const days: DayCounts[] = [];
  for (let t = Date.parse(start); t < Date.parse(end); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    const v = volume.find((r) => r.day === day);
    days.push({ day, inbound: Number(v?.inbound ?? 0), outbound: Number(v?.outbound ?? 0), spam: Number(spam.find((r) => r.day === day)?.n ?? 0), bounces: Number(bounces.find((r) => r.day === day)?.n ?? 0) });
  }
  return days;
}

/** Storage in use now, per user (largest first, at most 500) and per domain. */
export async function storageReport(db: Db, accountId: string) {
  const users = await db.user.findMany({
    where: { accountId },
    select: { localPart: true, usedBytes: true, quotaBytes: true, domain: { select: { name: true } } },
    orderBy: [{ usedBytes: 'desc' }, { localPart: 'asc' }],
    take: 500,
  });
  const domains = await db.$queryRawUnsafe<{ domain: string; used: string; users: string }[]>(
    `SELECT d.name AS domain, coalesce(sum(u.used_bytes), 0)::text AS used, count(u.id)::text AS users
     FROM domains d LEFT JOIN users u ON u.domain_id = d.id WHERE d.account_id = $1::uuid GROUP BY d.name ORDER BY d.name`,
    accountId,
  );
  return {
    users: users.map((u) => ({ address: `${u.localPart}@${u.domain.name}`, usedBytes: Number(u.usedBytes), quotaBytes: Number(u.quotaBytes) })),
    domains: domains.map((d) => ({ domain: d.domain, usedBytes: Number(d.used), users: Number(d.users) })),
  };
}
