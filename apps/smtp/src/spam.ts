/**
 * Spam scoring for mail from outside (MISSION §7, docs/mail.md §7.1): a small table of signals,
 * each worth a fixed number of points, added up and compared with a threshold. Every point has a
 * named reason, so the recipient can see why a message was filed where it was: the score and
 * the reasons travel inside the sealed body as `X-Sealmail-Spam` (never in plaintext on the
 * server). Pure functions; `signalsOf` reads headers and HTML from the message's one parse.
 */
import type { AuthenticateResult } from 'mailauth';
import type { AddressObject } from 'mailparser';
import type { StreamedMail } from '@sealmail/mailstore';

/** Points per signal. Negative points are evidence of a legitimate sender. */
export const SPAM_POINTS = {
  'spf-fail': 3,
  'spf-softfail': 1.5,
  'dkim-fail': 2,
  'dkim-none': 1,
  'dkim-aligned': -1,
  'dmarc-quarantine': 5,
  'dmarc-fail': 2,
  'arc-fail': 1,
  'arc-pass': -1,
  'no-date': 1,
  'no-message-id': 1,
  'from-mismatch': 1.5,
  'caps-subject': 1.5,
  'link-mismatch': 3,
} as const;

export type SpamReason = keyof typeof SPAM_POINTS;

/** What the scorer looks at besides the authentication results. */
export interface MessageSignals {
  hasDate: boolean;
  hasMessageId: boolean;
  /** Address and domain of the From header, lower case ('' when there is none). */
  fromAddress: string;
  fromDomain: string;
  subject: string;
  /** The HTML part, when there is one. */
  html: string;
  /** List-Id values of the message (`<id>` without brackets), for list loop protection. */
  listIds: string[];
}

export interface SpamVerdict {
  score: number;
  reasons: SpamReason[];
  /** True when the score exceeds the threshold or the sender's DMARC policy asks for quarantine. */
  spam: boolean;
}

type Auth = Pick<AuthenticateResult, 'spf' | 'dkim' | 'dmarc' | 'arc'>;

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** True for a subject of at least 8 letters of which nine in ten or more are capitals. */
export function isShouting(subject: string): boolean {
  const letters = subject.match(/\p{L}/gu) ?? [];
  if (letters.length < 8) return false;
  const upper = letters.filter((c) => c !== c.toLowerCase() && c === c.toUpperCase()).length;
  return upper / letters.length >= 0.9;
}

/**
 * Links whose visible text names a host other than the one the link goes to, e.g.
 * `<a href="https://evil.example/login">https://bank.example</a>`. Counts each such link once.
 */
export function mismatchedLinks(html: string): number {
  let n = 0;
  const anchor = /<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi;
  for (const m of html.slice(0, 2_000_000).matchAll(anchor)) {
    const href = decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
    const text = decodeEntities(m[4]!.replace(/<[^>]*>/g, '')).trim();
    const target = hostOf(href);
    const shown = /^(?:https?:\/\/)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?$/i.exec(text)?.[1]?.toLowerCase();
    if (target && shown && !sameSite(target, shown)) n++;
  }
  return n;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x?[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (all, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()]!;
    const code = e[1]?.toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isSafeInteger(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : all;
  });
}

function hostOf(href: string): string | null {
  try {
    const u = new URL(href.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** www.bank.example and bank.example are the same site; a.example and b.example are not. */
function sameSite(a: string, b: string): boolean {
  const strip = (h: string) => h.replace(/^www\./, '');
  const x = strip(a);
  const y = strip(b);
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
}

/**
 * Scores one message. `mailFrom` is the envelope sender (Return-Path); '' for bounces.
 * @example scoreMessage(auth, signals, 'carol@sender.example', 5) → { score: 1, reasons: ['dkim-none'], spam: false }
 */
export function scoreMessage(auth: Auth, signals: MessageSignals, mailFrom: string, threshold: number): SpamVerdict {
  const reasons: SpamReason[] = [];
  const spf = auth.spf ? auth.spf.status.result : 'none';
  if (spf === 'fail') reasons.push('spf-fail');
  else if (spf === 'softfail') reasons.push('spf-softfail');

  // mailauth reports an unsigned message as one result with status 'none'.
  const sigs = (auth.dkim?.results ?? []).filter((r) => r.status.result !== 'none');
  const passing = sigs.filter((r) => r.status.result === 'pass');
  if (sigs.length === 0) reasons.push('dkim-none');
  else if (passing.length === 0) reasons.push('dkim-fail');
  const aligned = passing.some((r) => r.status.aligned || (signals.fromDomain && sameOrganisation(r.signingDomain, signals.fromDomain)));
  if (aligned) reasons.push('dkim-aligned');

  let quarantine = false;
  if (auth.dmarc && auth.dmarc.status.result === 'fail') {
    if (auth.dmarc.policy === 'quarantine') {
      reasons.push('dmarc-quarantine');
      quarantine = true;
    } else reasons.push('dmarc-fail');
  }
  const arc = auth.arc ? auth.arc.status.result : 'none';
  if (arc === 'fail') reasons.push('arc-fail');
  else if (arc === 'pass') reasons.push('arc-pass');

  if (!signals.hasDate) reasons.push('no-date');
  if (!signals.hasMessageId) reasons.push('no-message-id');
  if (mailFrom && signals.fromDomain && !aligned && !sameOrganisation(domainOf(mailFrom), signals.fromDomain)) reasons.push('from-mismatch');
  if (isShouting(signals.subject)) reasons.push('caps-subject');
  if (signals.html && mismatchedLinks(signals.html) > 0) reasons.push('link-mismatch');

  const score = Math.round(reasons.reduce((s, r) => s + SPAM_POINTS[r], 0) * 10) / 10;
  return { score, reasons, spam: quarantine || score > threshold };
}

/** Same domain, or one a subdomain of the other (a cheap stand-in for the organisational domain). */
export function sameOrganisation(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
}

/** The `X-Sealmail-Spam` header value: `score=6.5; threshold=5; verdict=spam; reasons=spf-fail(+3) dkim-none(+1)`. */
export function spamHeader(v: SpamVerdict, threshold: number): readonly [string, string] {
  const reasons = v.reasons.map((r) => `${r}(${SPAM_POINTS[r] > 0 ? '+' : ''}${SPAM_POINTS[r]})`).join(' ') || 'none';
  return ['X-Sealmail-Spam', `score=${v.score}; threshold=${threshold}; verdict=${v.spam ? 'spam' : 'ham'}; reasons=${reasons}`];
}

/**
 * The headers and the HTML part the scorer needs, from the parse deliverLocal uses too
 * (`parseStreamed`: one parse of each message feeds the spam signals and the sealing —
 * docs/performance.md, "Speed, third round"). In memory only.
 */
export function signalsOf(parsed: StreamedMail): MessageSignals {
  const headers = parsed.headers as Map<string, unknown>;
  const from = headers.get('from') as AddressObject | undefined;
  const address = (from?.value?.[0]?.address ?? '').toLowerCase();
  const subject = headers.get('subject');
  const listIds: string[] = [];
  for (const l of parsed.headerLines) {
    if (l.key !== 'list-id') continue;
    const id = /<([^<>]+)>/.exec(l.line)?.[1];
    if (id) listIds.push(id.trim().toLowerCase());
  }
  return {
    hasDate: headers.has('date'),
    hasMessageId: headers.has('message-id'),
    fromAddress: address,
    fromDomain: address.includes('@') ? domainOf(address) : '',
    subject: typeof subject === 'string' ? subject : '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    listIds,
  };
}
