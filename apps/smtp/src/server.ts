/**
 * The SMTP ingress (smtp-server): TLS, recipients checked at RCPT against the directory (and
 * their keys: mail is sealed to them on arrival), size limits, and delivery — authenticate,
 * parse, seal, store, and only then 250 (src/deliver.ts). The raw message is held in memory
 * while DATA streams in and never written anywhere.
 */
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { findMailboxByAddress, pgPoolOf, type Db } from '@sealmail/db';
import { FACTS_HEAD_JOIN, factsColumns, factsOfRow, GroupCommit, newestPerUserKey, postgresBlobStore, senderPatterns, type BlobStore, type FactsRow, type RecipientFacts, type SealPool, type SecretBox } from '@sealmail/mailstore';
import { TLS_POLICY, type Logger } from '@sealmail/server';
import type { DNSResolver } from 'mailauth';
import { deliverInbound, SmtpReply } from './deliver';
import { blockedAmong, findList, type InboundRecipient } from './recipients';

export interface SmtpOptions {
  db: Db;
  logger: Logger;
  tls: { cert: string; key: string };
  hostname: string;
  maxMessageBytes: number;
  /** true: implicit TLS (port 465 style); false: plain with STARTTLS. */
  secure: boolean;
  blobs?: BlobStore;
  now?: () => Date;
  /** DNS for SPF/DKIM/DMARC (tests answer from a table). */
  resolver?: DNSResolver;
  /** Mail scoring above this is filed in Spam (default 5; docs/mail.md §7.1). */
  spamThreshold?: number;
  /** The server's mail key (public half): lists' outside members get the mail through the outbound relay, and mail for a mailbox without keys yet is held boxed to it. */
  serverPublicKey?: Uint8Array;
  /** Connections this listener serves at once; the next one is answered 421 (default 200). */
  maxSessions?: number;
  /** Connections one client address may hold on this listener at once; the next is answered 421 (default 50). */
  maxSessionsPerClient?: number;
  /** Message bytes all transactions of the process may hold at once (default: its own, 256 MiB). */
  budget?: ByteBudget;
  /** The server's SecretBox (out-of-office texts); without it, no automatic replies. */
  secrets?: SecretBox;
  /**
   * Stores the messages of concurrent sessions together, each answered 250 once its batch is
   * committed (default: on when the database client has its pg pool; false: one transaction each).
   */
  groupCommit?: GroupCommit | false;
  /**
   * Load balancers that connect with a PROXY protocol (v1) header naming the real client, whose
   * address SPF, DMARC and the logs then use. Only connections from these addresses are read so;
   * anyone else is an ordinary client (a header from them is a protocol error).
   */
  proxyFrom?: readonly string[];
  /** Worker threads that seal each message (seal-pool.ts); default: sealed on the event loop. */
  sealPool?: SealPool;
  /** How long a transaction may hold its declared SIZE of the budget before DATA starts (default 60 s); then it is given back. */
  sizeHoldMs?: number;
}

/**
 * The bytes of mail a process holds in memory at once (the raw message between DATA and the 250,
 * and the parse and seal that follow). A transaction reserves HELD_PER_MESSAGE_BYTE times its
 * declared SIZE at its first accepted recipient (at most the whole budget) and more as bytes
 * beyond it arrive during DATA; past the budget it is answered `452 4.3.1` — a temporary answer
 * that does clear, because the budget is at least the largest message the server takes (config.ts
 * enforces it) and frees as transactions end. A reservation not used by DATA within `sizeHoldMs`
 * goes back (DATA then takes its bytes as they come): reserved at MAIL FROM and kept while a NOOP
 * now and then reset the idle timer, two anonymous sessions declaring 32 MiB held the whole
 * budget, and every other sender got 452 for as long as they stayed.
 */
export class ByteBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  /** Takes `bytes` more if they fit; false (nothing taken) otherwise. */
  take(bytes: number): boolean {
    if (bytes > 0 && this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
  get inUse(): number {
    return this.used;
  }
}

/**
 * What a transaction takes of the budget per byte of its message, never more than the whole
 * budget (so the largest message still goes through once it is alone). A message is held once
 * (the raw bytes; attachments are sealed as they are decoded, a blob part at a time), but its
 * parses (mailauth's, one mailparser pass, one more per sealed copy with attachments) and the sealing leave garbage the GC frees later: the ingest bench measured 20 ×
 * 25 MiB at once under the default budget at 360 MB peak RSS with two in flight (this factor) and
 * 402 MB with three (a factor of 3) — docs/performance.md, "Ingest".
 */
export const HELD_PER_MESSAGE_BYTE = 4;

const INSUFFICIENT = '4.3.1 Insufficient system resources for this message now, try again later';

/**
 * smtp-server picks the enhanced status code (RFC 3463) from the reply code alone for errors
 * handlers return (550 → 5.1.1, 552 → 5.2.2). A reply whose text already starts with its own
 * enhanced code (DMARC rejection 5.7.1, attachments too large 5.3.4) is sent with that one.
 */
const proto = SMTPConnection.prototype as unknown as { send(code: number, data: unknown, context?: unknown): void; __sealmail?: boolean };
if (!proto.__sealmail) {
  const send = proto.send;
  proto.send = function (this: unknown, code: number, data: unknown, context?: unknown) {
    return send.call(this, code, data, typeof data === 'string' && /^[245]\.\d{1,3}\.\d{1,3} /.test(data) ? false : context);
  };
  proto.__sealmail = true;
}

/** True if the message has a LF not preceded by CR, or a CR not followed by LF. */
export function hasBareLineBreak(raw: Uint8Array): boolean {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) return true;
    if (raw[i] === 0x0d && raw[i + 1] !== 0x0a) return true;
  }
  return false;
}

/** Recipients accepted at RCPT, by session: mailboxes and lists. */
const accepted = new WeakMap<SMTPServerSession, InboundRecipient[]>();
/** Bytes of the budget each session's current transaction holds. */
const reserved = new WeakMap<SMTPServerSession, number>();

// With the user, what delivering to them needs for the envelope sender (delivery-facts.ts): DATA
// skips its own statement when the From header names no one else (deliver.ts).
const RECIPIENT_SQL = `SELECT d.verified_at AS "verifiedAt", u.id, u.account_id AS "accountId", u.status, u.used_bytes AS "usedBytes", u.quota_bytes AS "quotaBytes",
  EXISTS (SELECT 1 FROM blocked_senders b WHERE b.account_id = u.account_id AND b.pattern = ANY($3::text[]) AND (b.user_id IS NULL OR b.user_id = u.id)) AS blocked,
  ${factsColumns('$4::text[]')}
FROM domains d LEFT JOIN users u ON u.domain_id = d.id AND u.local_part = $1
${FACTS_HEAD_JOIN}
WHERE d.name = $2`;

/**
 * The recipient's domain (null: not ours) and the user with exactly this address, if any (null:
 * look further — aliases, +tags, lists — with findMailboxByAddress).
 */
async function lookupRecipient(db: Db, address: string, sender: string): Promise<{ domain: { verifiedAt: Date | null } | null; direct: { id: string; accountId: string; status: string; usedBytes: bigint; quotaBytes: bigint; blocked: boolean; facts: RecipientFacts } | null }> {
  const at = address.lastIndexOf('@');
  const pool = pgPoolOf(db);
  if (!pool || at <= 0) {
    const domain = await db.domain.findUnique({ where: { name: address.slice(at + 1) }, select: { verifiedAt: true } });
    return { domain, direct: null };
  }
  // The user's and their account's blocks of the envelope sender (blockedAmong's rule) in the same
  // query, a named prepared statement (planned once per connection).
  const { rows } = await pool.query<FactsRow & { verifiedAt: Date | null; id: string | null; accountId: string | null; status: string | null; usedBytes: string | null; quotaBytes: string | null; blocked: boolean }>({ name: 'sealmail_rcpt_lookup_facts', text: RECIPIENT_SQL, values: [address.slice(0, at), address.slice(at + 1), senderPatterns(sender), sender ? [sender.toLowerCase()] : []] });
  const row = rows[0];
  if (!row) return { domain: null, direct: null };
  return { domain: { verifiedAt: row.verifiedAt }, direct: row.id ? { id: row.id, accountId: row.accountId!, status: row.status!, usedBytes: BigInt(row.usedBytes!), quotaBytes: BigInt(row.quotaBytes!), blocked: row.blocked, facts: factsOfRow(row) } : null };
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export function buildSmtpServer(opts: SmtpOptions): SMTPServer {
  const log = opts.logger;
  const budget = opts.budget ?? new ByteBudget(Math.max(256 * 1024 * 1024, opts.maxMessageBytes));
  /** Ends a session's transaction's hold on the budget. */
  const cost = (bytes: number) => Math.min(bytes * HELD_PER_MESSAGE_BYTE, budget.limit);
  const perClient = new Map<string, number>();
  const counted = new WeakSet<SMTPServerSession>();
  const perClientLimit = opts.maxSessionsPerClient ?? 50;
  const holdMs = opts.sizeHoldMs ?? 60_000;
  const holdTimers = new WeakMap<SMTPServerSession, NodeJS.Timeout>();
  const stopHold = (session: SMTPServerSession) => {
    clearTimeout(holdTimers.get(session));
    holdTimers.delete(session);
  };
  const release = (session: SMTPServerSession) => {
    stopHold(session);
    budget.give(reserved.get(session) ?? 0);
    reserved.delete(session);
  };
  const pool = pgPoolOf(opts.db);
  const committer = opts.groupCommit === false || !pool ? null : (opts.groupCommit ?? new GroupCommit(opts.db, pool));
  const deps = { ...(committer ? { store: committer.store.bind(committer) } : {}), db: opts.db, blobs: opts.blobs ?? postgresBlobStore(opts.db), logger: log, hostname: opts.hostname, now: opts.now ?? (() => new Date()), spamThreshold: opts.spamThreshold ?? 5, ...(opts.resolver ? { resolver: opts.resolver } : {}), ...(opts.serverPublicKey ? { serverPublicKey: opts.serverPublicKey } : {}), ...(opts.secrets ? { secrets: opts.secrets } : {}), ...(opts.sealPool ? { seal: opts.sealPool.seal.bind(opts.sealPool) } : {}) };
  const options: SMTPServerOptions = {
    secure: opts.secure,
    key: opts.tls.key,
    cert: opts.tls.cert,
    // The shared policy of every listener: TLS 1.3, or 1.2 with ECDHE + AEAD suites only.
    ...TLS_POLICY,
    name: opts.hostname,
    banner: 'Sealmail ESMTP',
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: opts.maxMessageBytes,
    rejectOversized: true,
    maxRecipients: 100,
    // Past this many open connections smtp-server answers 421 4.7.0 and closes.
    maxClients: opts.maxSessions ?? 200,
    ...(opts.proxyFrom?.length ? { useProxy: [...opts.proxyFrom] } : {}),
    logger: false,
    // RFC 2034 enhanced status codes on every reply (smtp-server picks them by reply code and context).
    hideENHANCEDSTATUSCODES: false,
    onConnect(session, cb) {
      log.debug({ remote: session.remoteAddress, session: session.id }, 'smtp connect');
      // One host cannot take every slot: past its share, 421 (the others still get in).
      const client = session.remoteAddress;
      const open = (perClient.get(client) ?? 0) + 1;
      if (open > perClientLimit) {
        log.info({ remote: client, open: open - 1 }, 'smtp: too many connections from one client');
        return cb(smtpError(421, '4.7.0 Too many connections from your address, try again later'));
      }
      perClient.set(client, open);
      counted.add(session);
      cb();
    },
    onMailFrom(_address, session: SMTPServerSession, cb) {
      accepted.set(session, []);
      release(session);
      cb();
    },
    onClose(session) {
      release(session);
      if (counted.delete(session)) {
        const left = (perClient.get(session.remoteAddress) ?? 1) - 1;
        if (left > 0) perClient.set(session.remoteAddress, left);
        else perClient.delete(session.remoteAddress);
      }
    },
    onRcptTo(address, session, cb) {
      const rcpt = address.address.toLowerCase();
      /** Takes the recipient; the first one reserves the declared SIZE of the budget (see ByteBudget). */
      const admit = (entry: InboundRecipient) => {
        const list = accepted.get(session);
        if (list && list.length === 0 && !reserved.has(session)) {
          const args = session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, string> | false) : false;
          const declared = Number(args ? args.SIZE : 0) || 0;
          const want = cost(Math.min(declared, opts.maxMessageBytes));
          if (!budget.take(want)) {
            log.info({ session: session.id, declared, inUse: budget.inUse }, 'smtp: byte budget full at RCPT');
            return cb(smtpError(452, INSUFFICIENT));
          }
          reserved.set(session, want);
          const timer = setTimeout(() => {
            if (holdTimers.get(session) !== timer) return;
            holdTimers.delete(session);
            log.info({ session: session.id, held: reserved.get(session) }, 'smtp: declared SIZE held too long before DATA, given back');
            budget.give(reserved.get(session) ?? 0);
            reserved.delete(session);
          }, holdMs);
          timer.unref();
          holdTimers.set(session, timer);
        }
        list?.push(entry);
        cb();
      };
      const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      const refuseBlocked = () => {
        log.info({ session: session.id }, 'smtp: blocked sender');
        cb(smtpError(550, '5.7.1 The recipient does not accept mail from this sender'));
      };
      (async () => {
        // A domain added but not yet proven the organisation's (DNS TXT) takes no mail: answered
        // like an unknown address (docs/admin.md, Domains).
        // One round trip for the common case (the domain and a user with exactly this address),
        // through the pg pool rather than the ORM: RCPT runs once per recipient of every message.
        const { domain, direct } = await lookupRecipient(opts.db, rcpt, sender);
        if (domain && !domain.verifiedAt) {
          log.info({ session: session.id }, 'smtp: recipient domain not verified');
          return cb(smtpError(550, 'No such user here'));
        }
        // A user's own address or one of their aliases (docs/admin.md, Users).
        const user = direct ?? (await findMailboxByAddress(opts.db, rcpt));
        if (user && user.status === 'active') {
          if (direct ? direct.blocked : (await blockedAmong(opts.db, [{ userId: user.id, accountId: user.accountId }], [sender])).size) return refuseBlocked();
          // A full mailbox is refused for this recipient alone, at RCPT (the others of the message
          // still get it): one reply for the whole message at DATA could not say that, and the
          // full one's copy would be lost behind a 250. 452 4.2.2: it clears when they make room.
          const args = session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, string> | false) : false;
          const declared = BigInt(Math.max(1, Math.min(Number(args ? args.SIZE : 0) || 0, opts.maxMessageBytes)));
          if (user.usedBytes + declared > user.quotaBytes) {
            log.info({ session: session.id }, 'smtp: recipient mailbox full');
            return cb(smtpError(452, '4.2.2 Mailbox full, try again later'));
          }
          // Mail is sealed to the recipient's keys on arrival. A mailbox without keys yet (created by
          // an admin, never signed in) has it held server-encrypted until its first device is set up
          // (docs/mail.md §7.4); only an ingress without the server's mail key must defer it.
          if (!opts.serverPublicKey && !(await newestPerUserKey(opts.db, user.id))) return cb(smtpError(450, 'Mailbox not set up yet, try again later'));
          return admit({ kind: 'user', address: rcpt, userId: user.id, accountId: user.accountId, ...(direct ? { facts: direct.facts } : {}) });
        }
        // A mailing list address (no mailbox of its own): expanded to its members at DATA.
        const list = user ? null : await findList(opts.db, rcpt);
        if (list) {
          if ((await blockedAmong(opts.db, [{ userId: null, accountId: list.accountId }], [sender])).size) return refuseBlocked();
          return admit({ kind: 'list', address: rcpt, listId: list.id, accountId: list.accountId, name: list.name, posting: list.posting });
        }
        log.info({ session: session.id }, 'smtp: unknown recipient');
        cb(smtpError(550, 'No such user here'));
      })().catch((err: unknown) => {
        log.error({ err, session: session.id }, 'smtp: directory lookup failed');
        cb(smtpError(451, 'Temporary lookup failure, try again later'));
      });
    },
    onData(stream, session, cb) {
      // DATA has begun: the reservation is this transaction's until it ends.
      stopHold(session);
      // Held in memory up to the limit; past it, the rest is drained unread and refused. With a
      // declared SIZE the bytes go straight into one buffer of that size (no second copy to join
      // the chunks); past it, or without one, chunks are joined at the end.
      const chunks: Buffer[] = [];
      const args = session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, string> | false) : false;
      const declared = Math.min(Number(args ? args.SIZE : 0) || 0, opts.maxMessageBytes);
      let whole: Buffer | null = null;
      let at = 0;
      let size = 0;
      let starved = false;
      const done = (err?: Error) => {
        release(session);
        cb(err ?? null);
      };
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxMessageBytes || starved) return;
        // Bytes beyond what MAIL FROM declared are taken from the budget as they come.
        const held = reserved.get(session) ?? 0;
        const need = cost(size);
        if (need > held) {
          if (!budget.take(need - held)) {
            // What this transaction held goes back at once (its bytes are dropped): concurrent
            // transactions that each hold part of the budget would otherwise starve one another.
            starved = true;
            chunks.length = 0;
            whole = null;
            release(session);
            return;
          }
          reserved.set(session, need);
        }
        if (declared > 0 && !chunks.length && at + c.length <= declared) {
          whole ??= Buffer.allocUnsafeSlow(declared);
          c.copy(whole, at);
          at += c.length;
          return;
        }
        if (whole) chunks.push(whole.subarray(0, at));
        whole = null;
        chunks.push(c);
      });
      stream.on('end', () => {
        const overflow = (stream as unknown as { sizeExceeded?: boolean }).sizeExceeded || size > opts.maxMessageBytes;
        if (overflow) return done(smtpError(552, 'Message exceeds the size limit'));
        if (starved) {
          log.info({ session: session.id, size, inUse: budget.inUse }, 'smtp: byte budget full at DATA');
          return done(smtpError(452, INSUFFICIENT));
        }
        const raw = whole && !chunks.length ? whole.subarray(0, at) : Buffer.concat(chunks);
        whole = null;
        chunks.length = 0;
        // SMTP smuggling defence: a bare LF (or CR) anywhere makes end-of-data ambiguous between
        // servers, so such messages are refused rather than guessed at.
        if (hasBareLineBreak(raw)) {
          raw.fill(0);
          return done(smtpError(550, '5.6.0 Bare LF or CR in message; lines must end with CRLF'));
        }
        const rcptTo = accepted.get(session) ?? [];
        deliverInbound(deps, raw, { mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', rcptTo, remoteAddress: session.remoteAddress, clientHostname: session.clientHostname })
          .then(
            () => done(),
            (err: unknown) => {
              if (err instanceof SmtpReply) {
                log.info({ session: session.id, code: err.responseCode }, 'smtp: message refused');
                return done(smtpError(err.responseCode, err.message));
              }
              log.error({ err, session: session.id }, 'smtp: delivery failed');
              done(smtpError(451, 'Temporary failure storing the message, try again later'));
            },
          )
          .finally(() => raw.fill(0));
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', (err) => log.warn({ err }, 'smtp server error'));
  return server;
}
