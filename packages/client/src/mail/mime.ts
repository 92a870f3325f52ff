/**
 * The body piece of a Sealmail mail (docs/mail.md §1): an RFC 5322 message with its headers,
 * text and HTML, and one empty placeholder part per attachment piece (`Content-Description:
 * sealmail-piece:N`, the real bytes travel as piece N). Built here, parsed with postal-mime; runs
 * unchanged in browsers, workers and Node.
 */
import PostalMime from 'postal-mime';
import { base64 } from '../base64';
import { base64LinesOf } from './base64-lines';

export interface MailAddress {
  name: string;
  address: string;
}

/** What goes into a body piece. */
export interface MimeInput {
  from: MailAddress;
  to: readonly string[];
  cc: readonly string[];
  subject: string;
  text: string;
  html?: string | undefined;
  date: Date;
  /** Without angle brackets, e.g. `7f…@example.test`. */
  messageId: string;
  inReplyTo?: string | undefined;
  references?: readonly string[] | undefined;
  /**
   * Attachment placeholders in piece order. One with a `contentId` is an inline image the HTML
   * names as `cid:<contentId>`: it goes into a `multipart/related` beside the text and HTML.
   */
  attachments: readonly { filename: string; contentType: string; size: number; contentId?: string | undefined }[];
  /** More header fields, e.g. the ingress's Authentication-Results (values folded by the caller). */
  extraHeaders?: readonly (readonly [string, string])[] | undefined;
}

/** A parsed body piece. */
export interface ParsedMime {
  subject: string;
  from: MailAddress | null;
  to: string[];
  cc: string[];
  date: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  text: string;
  html: string | null;
  /** Attachment placeholders in piece order: piece index (1…), name and type; `contentId` (no angle brackets) for a part of a `multipart/related` the HTML names as `cid:`. */
  attachments: { piece: number; filename: string; contentType: string; contentId?: string }[];
  /** Authentication-Results header fields (added by the receiving server for mail from outside). */
  authenticationResults: string[];
  /** Sealmail's own header fields inside the sealed body (`x-sealmail-*`, lower-case keys; folding whitespace removed): import marks, link-reply grants and tags (docs/mail.md §10–§11). */
  sealmailHeaders?: Record<string, string>;
  /** RFC 3834 Auto-Submitted (e.g. `auto-replied` on an out-of-office reply); null when absent. */
  autoSubmitted: string | null;
}

const CRLF = '\r\n';
const PIECE_TAG = 'sealmail-piece:';
/** What a Content-ID of ours may hold (no brackets, quotes or spaces to break out of the header or HTML). */
const CONTENT_ID = /^[\w.+-]+@[\w.-]+$/;
const te = new TextEncoder();

/** Base64 body lines of at most 76 characters (RFC 2045 §6.8). */
const base64Lines = (s: string) => base64LinesOf(te.encode(s));

/** RFC 2047 encoded words (B, UTF-8), split on character boundaries so no word passes 75 chars. */
export function encodeWords(value: string): string {
  // Printable ASCII without encoded-word lookalikes goes as it is.
  if (/^[\x20-\x7e]*$/.test(value) && !value.includes('=?')) return value;
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    if (te.encode(chunk + ch).length > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64(te.encode(w))}?=`).join(CRLF + ' ');
}

const displayAddress = (a: MailAddress) => (a.name ? `${/^[\w .'-]*$/.test(a.name) ? `"${a.name}"` : encodeWords(a.name)} <${a.address}>` : a.address);
const headerSafe = (s: string) => s.replace(/[\r\n]+/g, ' ');
/** A boundary from 12 of `random`'s bytes (one getRandomValues call serves a message's three: each call costs ~10 µs in Node). */
const boundary = (random: Uint8Array) => `=_sealmail_${random.reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}`;

/** RFC 2231 parameter: plain when safe, else `name*=UTF-8''percent-encoded`. */
function param(name: string, value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) && !/["\\]/.test(value)) return `${name}="${value}"`;
  return `${name}*=UTF-8''${encodeURIComponent(value).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`;
}

/** Builds the body piece. Header values are single-line; non-ASCII is encoded. */
export function buildMime(m: MimeInput): Uint8Array {
  const random = crypto.getRandomValues(new Uint8Array(36));
  const outer = boundary(random.subarray(0, 12));
  const alt = boundary(random.subarray(12, 24));
  const h: string[] = [
    `From: ${displayAddress({ name: headerSafe(m.from.name), address: m.from.address })}`,
    ...(m.to.length ? [`To: ${m.to.join(', ')}`] : []),
    ...(m.cc.length ? [`Cc: ${m.cc.join(', ')}`] : []),
    `Subject: ${encodeWords(headerSafe(m.subject))}`,
    `Date: ${m.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${m.messageId}>`,
    ...(m.inReplyTo ? [`In-Reply-To: <${m.inReplyTo}>`] : []),
    ...(m.references?.length ? [`References: ${m.references.map((r) => `<${r}>`).join(' ')}`] : []),
    ...(m.extraHeaders ?? []).filter(([k]) => /^[A-Za-z][A-Za-z0-9-]*$/.test(k)).map(([k, v]) => `${k}: ${v.replace(/\r?\n(?![ \t])/g, '\r\n ')}`),
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${outer}"`,
  ];
  const textPart = (type: string, content: string) => [`Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: base64', '', base64Lines(content)].join(CRLF);
  const placeholder = (a: MimeInput['attachments'][number], i: number, inline: boolean) =>
    [
      `Content-Type: ${/^[\w.+-]+\/[\w.+-]+$/.test(a.contentType) ? a.contentType : 'application/octet-stream'}; ${param('name', headerSafe(a.filename))}`,
      `Content-Disposition: ${inline ? 'inline' : 'attachment'}; ${param('filename', headerSafe(a.filename))}; size=${a.size}`,
      // Before the description: EML export (transfer/eml.ts) fills the bytes after description and encoding.
      ...(inline ? [`Content-ID: <${a.contentId}>`] : []),
      `Content-Description: ${PIECE_TAG}${i + 1}`,
      'Content-Transfer-Encoding: base64',
      '',
      '',
    ].join(CRLF);
  const isInline = (a: MimeInput['attachments'][number]) => !!a.contentId && CONTENT_ID.test(a.contentId) && !!m.html;
  const alternative = [`Content-Type: multipart/alternative; boundary="${alt}"`, '', `--${alt}`, textPart('text/plain', m.text), ...(m.html ? [`--${alt}`, textPart('text/html', m.html)] : []), `--${alt}--`].join(CRLF);
  // Inline images (RFC 2387): the text and HTML and the images they name, one related whole.
  const related = boundary(random.subarray(24, 36));
  const inline = m.attachments.flatMap((a, i) => (isInline(a) ? [placeholder(a, i, true)] : []));
  const parts = [
    inline.length ? [`Content-Type: multipart/related; type="multipart/alternative"; boundary="${related}"`, '', ...[alternative, ...inline].map((p) => `--${related}${CRLF}${p}`), `--${related}--`].join(CRLF) : alternative,
    ...m.attachments.flatMap((a, i) => (isInline(a) ? [] : [placeholder(a, i, false)])),
  ];
  return te.encode([...h, '', ...parts.map((p) => `--${outer}${CRLF}${p}`), `--${outer}--`, ''].join(CRLF));
}

const bare = (id: string | undefined | null) => (id ? id.trim().replace(/^<|>$/g, '') : null);
const flat = (list: { name: string; address?: string; group?: { address: string }[] }[] | undefined) =>
  (list ?? []).flatMap((a) => (a.group ? a.group.map((g) => g.address) : a.address ? [a.address] : []));

/** Parses a body piece (any RFC 5322 message, so server-sealed inbound mail too). */
export async function parseMime(bytes: Uint8Array): Promise<ParsedMime> {
  const email = await PostalMime.parse(bytes, { attachmentEncoding: 'arraybuffer' });
  const from = email.from && 'address' in email.from && email.from.address ? { name: email.from.name ?? '', address: email.from.address } : null;
  const attachments = email.attachments.flatMap((a) => {
    const tag = a.description?.startsWith(PIECE_TAG) ? Number(a.description.slice(PIECE_TAG.length)) : NaN;
    if (!(Number.isSafeInteger(tag) && tag > 0)) return [];
    const cid = a.related && a.contentId ? a.contentId.trim().replace(/^<|>$/g, '') : '';
    return [{ piece: tag, filename: a.filename ?? `attachment-${tag}`, contentType: a.mimeType || 'application/octet-stream', ...(CONTENT_ID.test(cid) ? { contentId: cid } : {}) }];
  }).sort((a, b) => a.piece - b.piece); // inline images come first in the document
  return {
    subject: email.subject ?? '',
    from,
    to: flat(email.to),
    cc: flat(email.cc),
    date: email.date ?? null,
    messageId: bare(email.messageId),
    inReplyTo: bare(email.inReplyTo),
    references: (email.references ?? '').split(/\s+/).map(bare).filter((r): r is string => !!r),
    text: email.text ?? '',
    html: email.html ?? null,
    attachments,
    authenticationResults: email.headers.filter((h) => h.key === 'authentication-results').map((h) => h.value),
    sealmailHeaders: Object.fromEntries(email.headers.filter((h) => h.key.startsWith('x-sealmail-')).map((h) => [h.key, h.value.replace(/\s+/g, '')])),
    autoSubmitted: email.headers.find((h) => h.key === 'auto-submitted')?.value.trim() ?? null,
  };
}
