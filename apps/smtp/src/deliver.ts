/**
 * Delivering mail from outside (MISSION §3, docs/mail.md §7): authenticate it (SPF, DKIM, DMARC,
 * ARC with mailauth), then parse, seal to each recipient's newest per-user key and store it
 * (`deliverLocal` in @sealmail/mailstore), with the authentication results kept inside the sealed
 * body. All of that happens in memory; the caller answers 250 only after this returns, so a
 * message that got a 250 is committed to the database, and no plaintext is ever written anywhere.
 */
import { authenticate, type DNSResolver } from 'mailauth';
import type { Db } from '@sealmail/db';
import { autoReplyRefusal, deliverLocal, LocalDeliveryError, loopMarksOf, parseStreamed, readHeaderFields, recipientFacts, replyOutOfOffice, wouldLoop, type BlobStore, type LocalDeliveryDeps, type SecretBox } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';
import { sameOrganisation, scoreMessage, signalsOf, spamHeader } from './spam';
import { recordItip } from './itip';
import { blockedAmong, deliverableMembers, listHeaders, listIdOf, mayPostToList, outsideMembers, senderVerdicts, type InboundRecipient } from './recipients';

/** An SMTP reply to give instead of 250. */

/** Received fields past which a message is refused as a loop (554 5.4.6). */
export const MAX_RECEIVED_HOPS = 50;
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DeliverDeps {
  db: Db;
  blobs: BlobStore;
  logger: Logger;
  /** This server's name, for Authentication-Results and the message ids it makes. */
  hostname: string;
  now: () => Date;
  /** DNS for SPF/DKIM/DMARC; tests answer from a table (nothing outside this machine is asked). */
  resolver?: DNSResolver;
  /** Scores above this file the message in Spam (spam.ts). */
  spamThreshold: number;
  /** The server's mail key (public half), for lists' outside members (relayed as standard mail). */
  serverPublicKey?: Uint8Array;
  /** The server's SecretBox: opens out-of-office texts (without it, no automatic replies). */
  secrets?: SecretBox;
  /** Stores each sealed copy (the ingress's group commit); default: one transaction each. */
  store?: LocalDeliveryDeps['store'];
  /** Seals each copy (the ingress's seal pool); default: in this thread. */
  seal?: LocalDeliveryDeps['seal'];
}

export interface InboundEnvelope {
  mailFrom: string;
  /** Mailboxes and lists accepted at RCPT. */
  rcptTo: readonly InboundRecipient[];
  remoteAddress: string;
  clientHostname: string;
}

/** SMTP replies for the reasons a local delivery fails (RFC 3463 enhanced codes). */
const REPLIES: Record<LocalDeliveryError['reason'], [number, string]> = {
  malformed: [554, '5.6.0'],
  'attachments-too-large': [552, '5.3.4'],
  'no-keys': [450, '4.2.1'],
  'mailbox-full': [552, '5.2.2'],
};

/** Delivers one inbound message; resolves with the stored message id. @throws SmtpReply. */
export async function deliverInbound(deps: DeliverDeps, raw: Buffer, env: InboundEnvelope): Promise<{ messageId: string; entries: number }> {
  // 1. Authentication, on the raw bytes as they arrived. A message these parsers cannot read
  // (headers past their limits, broken structure) is refused for good: retrying cannot fix it.
  const auth = await authenticate(raw, {
    ip: env.remoteAddress,
    helo: env.clientHostname,
    sender: env.mailFrom,
    mta: deps.hostname,
    disableBimi: true,
    ...(deps.resolver ? { resolver: deps.resolver } : {}),
  }).catch((err: unknown) => {
    deps.logger.info({ code: (err as { code?: string }).code }, 'smtp: malformed message');
    throw new SmtpReply(554, '5.6.0 The message could not be parsed (malformed MIME or headers too large)');
  });
  if (auth.dmarc && auth.dmarc.status?.result === 'fail' && auth.dmarc.policy === 'reject') {
    throw new SmtpReply(550, `5.7.1 Rejected by the sender domain's DMARC policy (${auth.dmarc.domain})`);
  }
  const authResults = auth.headers
    .split(/\r?\n(?=\S)/)
    .filter((l) => /^Authentication-Results:/i.test(l))
    .map((l) => l.replace(/^Authentication-Results:\s*/i, '').trim());

  // 2. Parsed once (mailparser, attachments counted and dropped): the spam signals come from this
  // parse, and deliverLocal seals from it (it streams attachments from `raw` again only to seal them).
  const parsed = await parseStreamed(raw).catch((err: unknown) => {
    deps.logger.info({ code: (err as { code?: string }).code }, 'smtp: malformed message');
    throw new SmtpReply(554, '5.6.0 The message could not be parsed (malformed MIME or headers too large)');
  });
  // Scored (spam.ts): the verdict picks the folder; score and reasons stay inside the sealed body.
  const signals = signalsOf(parsed);
  // Relays it already went through (loop-marks.ts): one of our lists, sent back by an outside
  // member that forwards, is not expanded again.
  const marks = loopMarksOf(parsed.headerLines);
  // A message that went through this many hosts is in a loop somewhere (RFC 5321 §6.3; Postfix's
  // hopcount_limit): refused for good rather than delivered, and forwarded, once more.
  if (parsed.headerLines.filter((l) => l.key === 'received').length > MAX_RECEIVED_HOPS) throw new SmtpReply(554, '5.4.6 Too many hops (Received fields): mail loop');
  // Bounces and automatic mail are not spread to a list's members (a list's outside members
  // bounce to the list address, and their auto-replies come back to it).
  const autoSubmitted = String((parsed.headers as Map<string, unknown>).get('auto-submitted') ?? 'no').trim().toLowerCase();
  const noListExpansion = env.mailFrom === '' || !autoSubmitted.startsWith('no');
  const verdict = scoreMessage(auth, signals, env.mailFrom, deps.spamThreshold);
  signals.html = '';
  const folder = verdict.spam ? ('spam' as const) : ('inbox' as const);
  // Score and reasons are not logged: like the content they come from, they stay in the sealed body.

  // 3. Who gets it: the mailboxes named at RCPT, then each list's members (a member already
  // named, or on an earlier list, gets one copy). Blocks are checked again against the From
  // header (RCPT saw only the envelope sender); a list this message already went through is not
  // expanded again (loop).
  const spam = spamHeader(verdict, deps.spamThreshold);
  const senders = [env.mailFrom, signals.fromAddress].filter(Boolean);
  const taken = new Set<string>();
  const deliveries: { recipients: { address: string; userId: string; folder: 'inbox' | 'spam' }[]; extraHeaders: (readonly [string, string])[]; relay?: { to: string[]; sender: string; serverPublicKey: Uint8Array; blobOwnerUserId: string } }[] = [];
  const direct = env.rcptTo.flatMap((r) => (r.kind === 'user' && !taken.has(r.userId) && taken.add(r.userId) ? [r] : []));
  // RCPT checked the envelope sender against these recipients' blocks already: the From header
  // needs a check of its own only when it names someone else (one query less per message).
  const fromIsEnvelope = signals.fromAddress.toLowerCase() === env.mailFrom.toLowerCase();
  const directBlocked = signals.fromAddress && !fromIsEnvelope ? await blockedAmong(deps.db, direct, [signals.fromAddress]) : new Set();
  const wanted = direct.filter((r) => !directBlocked.has(r.userId));
  if (wanted.length) deliveries.push({ recipients: wanted.map((r) => ({ address: r.address, userId: r.userId, folder })), extraHeaders: [spam] });
  let blocked = directBlocked.size;
  let looped = 0;
  let notPermitted: string | null = null;
  const lists = new Set<string>();
  for (const r of env.rcptTo) {
    if (r.kind !== 'list' || lists.has(r.listId)) continue;
    lists.add(r.listId);
    if (signals.listIds.includes(listIdOf(r.address)) || wouldLoop(marks, r.address) || noListExpansion) {
      looped++;
      deps.logger.info({ list: r.listId }, 'smtp: list loop, not expanded again');
      continue;
    }
    // A list that takes mail only from its organisation or its members (mayPostToList).
    if (!(await mayPostToList(deps.db, r, signals.fromAddress, auth))) {
      notPermitted = r.posting === 'members' ? `only its members may post to ${r.address}` : `only people of its organisation may post to ${r.address}`;
      deps.logger.info({ list: r.listId, posting: r.posting }, 'smtp: not permitted to post to the list');
      continue;
    }
    const { members, skipped } = await deliverableMembers(deps.db, r.listId, r.accountId);
    const fresh = members.filter((m) => !taken.has(m.userId));
    const refused = await blockedAmong(deps.db, fresh, senders);
    blocked += refused.size;
    const to = fresh.filter((m) => !refused.has(m.userId));
    for (const m of to) taken.add(m.userId);
    // Outside members get it through the outbound relay (standard mail from the list address),
    // unless it scored as spam: a list does not forward spam to the world.
    const outside = deps.serverPublicKey && !verdict.spam ? await outsideMembers(deps.db, r.listId, r.accountId) : [];
    const owner = outside.length ? await deps.db.user.findFirst({ where: { accountId: r.accountId, role: 'admin', status: 'active' }, select: { id: true } }) : null;
    const relay = outside.length && owner && deps.serverPublicKey ? { to: outside, sender: r.address, serverPublicKey: deps.serverPublicKey, blobOwnerUserId: to[0]?.userId ?? owner.id } : undefined;
    deps.logger.info({ list: r.listId, members: to.length, outside: relay ? outside.length : 0, skipped, blocked: refused.size }, 'smtp: list expanded');
    if (to.length || relay) deliveries.push({ recipients: to.map((m) => ({ address: m.address, userId: m.userId, folder })), extraHeaders: [spam, ...listHeaders(r)], ...(relay ? { relay } : {}) });
  }
  // Each recipient's own spam signal (Report spam / Not spam) overrides the score for their copy.
  // With them, in the same statement, what deliverLocal needs of each: filters, sigchain head.
  const userIds = deliveries.flatMap((d) => d.recipients.map((r) => r.userId));
  // Read at RCPT for the envelope sender (server.ts): enough when the From header names no one
  // else and every recipient is a mailbox named at RCPT; else one statement for them all now.
  const atRcpt = new Map(direct.flatMap((r) => (r.facts ? [[r.userId, r.facts] as const] : [])));
  const early = (!signals.fromAddress || fromIsEnvelope) && userIds.every((id) => atRcpt.has(id));
  const facts = early ? atRcpt : await recipientFacts(deps.db, userIds, senders);
  const verdicts = facts ? new Map([...facts].flatMap(([id, f]) => (f.verdict ? [[id, f.verdict] as const] : []))) : await senderVerdicts(deps.db, userIds, senders);
  for (const d of deliveries) for (const r of d.recipients) r.folder = verdicts.has(r.userId) ? (verdicts.get(r.userId) === 'spam' ? 'spam' : 'inbox') : r.folder;
  if (deliveries.length === 0) {
    if (notPermitted) throw new SmtpReply(550, `5.7.1 Not delivered: ${notPermitted} (from an address SPF or DKIM vouches for)`);
    if (looped) throw new SmtpReply(554, '5.4.6 Mail loop: this message already went through the list');
    if (blocked) throw new SmtpReply(550, '5.7.1 The recipients do not accept mail from this sender');
    // Lists without a member who can take mail today: accepted, nothing to store.
    return { messageId: '', entries: 0 };
  }

  // 4. Parsed, sealed to each recipient and stored: one sealed copy per distinct set of headers.
  // (A failure after an earlier copy was stored answers 451; the sender's retry may then bring
  // that earlier group a second copy — never none.)
  try {
    let entries = 0;
    let messageId = '';
    for (const d of deliveries) {
      const stored = await deliverLocal(deps, raw, { mailFrom: env.mailFrom, recipients: d.recipients, authResults, extraHeaders: d.extraHeaders, filters: true, fromOutside: true, parsed, ...(facts ? { facts } : {}), ...(d.relay ? { relay: d.relay } : {}) });
      entries += stored.entries.length;
      messageId ||= stored.messageId;
    }
    // A calendar REPLY/COUNTER to a mailbox named at RCPT is recorded for its organizer (itip.ts).
    await recordItip(deps, raw, auth, wanted);
    // Out-of-office (RFC 3834): to direct recipients only (a list's members do not answer the
    // list), never to spam; a failure here never fails the delivery that got its 250.
    // Recipients without any out-of-office setting (as the facts read at DATA say) are skipped,
    // and with none left the headers are not read at all.
    const away = wanted.filter((w) => facts?.get(w.userId)?.outOfOffice !== false);
    if (deps.secrets && !verdict.spam && away.length) {
      const fields = readHeaderFields(raw);
      // Only to an envelope sender SPF or DKIM vouches for: a reply to a forged one is backscatter.
      const senderDomain = env.mailFrom.slice(env.mailFrom.lastIndexOf('@') + 1).toLowerCase();
      const vouched =
        env.mailFrom.includes('@') &&
        ((auth.spf && auth.spf.status.result === 'pass' && sameOrganisation(auth.spf.domain, senderDomain)) || (auth.dkim?.results ?? []).some((r) => r.status.result === 'pass' && sameOrganisation(r.signingDomain, senderDomain)));
      const refusal = autoReplyRefusal(fields, env.mailFrom) ?? (vouched ? null : 'the envelope sender has no passing SPF or aligned DKIM');
      if (refusal) deps.logger.info({ reason: refusal }, 'smtp: no automatic reply');
      else {
        const msgId = (fields.get('message-id')?.[0] ?? '').replace(/^<|>$/g, '').trim();
        const refs = (fields.get('references')?.[0] ?? '').split(/\s+/).map((r) => r.replace(/^<|>$/g, '')).filter(Boolean);
        for (const r of away) {
          await replyOutOfOffice({ ...deps, secrets: deps.secrets }, { userId: r.userId, address: r.address, replyTo: env.mailFrom, outside: true, ...(msgId ? { inReplyTo: msgId } : {}), references: refs }).catch((err: unknown) =>
            deps.logger.warn({ err: (err as Error).message }, 'smtp: out-of-office reply failed'),
          );
        }
      }
    }
    return { messageId, entries };
  } catch (err) {
    if (err instanceof LocalDeliveryError) {
      const [code, enhanced] = REPLIES[err.reason];
      throw new SmtpReply(code, `${enhanced} ${err.message}`);
    }
    throw err;
  }
}
