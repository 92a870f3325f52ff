/**
 * One mail as a standard RFC 5322 file (EML), and back, on the device.
 *
 * Out: the decrypted body piece (docs/mail.md §1) with each attachment placeholder
 * (`Content-Description: sealmail-piece:N`, empty base64 body) filled with piece N's bytes,
 * base64 in 76-character lines. Headers, dates and threading headers are the body piece's own.
 *
 * In: any RFC 5322 message, parsed with postal-mime (the parser the client uses everywhere; it
 * runs in browsers and workers, where mailparser does not), rebuilt as a body piece with
 * `buildMime` — From, To, Cc, Subject, Date, Message-ID, In-Reply-To, References, text, HTML —
 * and its attachments' bytes exactly, as pieces. The rebuilt piece is marked
 * `X-Sealmail-Imported` so the reader can say where it came from.
 */
import PostalMime from 'postal-mime';
import { buildMime, type MailAddress } from '../mail/mime';
import { concatBytes } from './mbox';
import { base64 } from '../base64';

const te = new TextEncoder();
const CRLF = '\r\n';

/** Bytes as a binary string (one char per byte; TextDecoder's latin1 is windows-1252 in browsers). */
function binary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}
const fromBinary = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/**
 * The EML of a mail: its body piece with every placeholder filled by `piece(N)`'s bytes.
 * Attachment bytes go out base64 in 76-character lines (RFC 2045 §6.8), 57 input bytes per line.
 */
export async function emlOf(body: Uint8Array, piece: (index: number) => Promise<Uint8Array>): Promise<Uint8Array> {
  const text = binary(body);
  const re = /Content-Description: sealmail-piece:(\d+)\r?\n(Content-Transfer-Encoding: base64\r?\n\r?\n)\r?\n/g;
  const out: Uint8Array[] = [];
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(fromBinary(text.slice(at, m.index)), te.encode(m[2]!));
    const bytes = await piece(Number(m[1]));
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 57) lines.push(base64(bytes.subarray(i, i + 57)));
    out.push(te.encode(lines.join(CRLF) + CRLF));
    at = m.index + m[0].length;
  }
  out.push(fromBinary(text.slice(at)));
  return concatBytes(out);
}

/** A file's message, ready to seal: the rebuilt body piece and the attachments' bytes. */
export interface ImportedMessage {
  body: Uint8Array;
  attachments: { filename: string; contentType: string; bytes: Uint8Array }[];
  from: MailAddress;
  to: string[];
  cc: string[];
  date: Date;
  /** Without angle brackets (made up when the file has none). */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
}

const bare = (id: string | undefined | null) => (id ? id.trim().replace(/^<|>$/g, '') : null);
const flat = (list: { name: string; address?: string; group?: { address?: string }[] }[] | undefined) =>
  (list ?? []).flatMap((a) => (a.group ? a.group.map((g) => g.address ?? '') : [a.address ?? ''])).filter((a) => a.includes('@')).map((a) => a.toLowerCase());

/**
 * Parses one message of a file and rebuilds it as a body piece.
 * @param fallbackDate the mbox From_ line's date, for a message without a Date header.
 * @param now the import time (marked in the rebuilt piece).
 */
export async function parseForImport(raw: Uint8Array, opts: { fallbackDate?: Date | null; now: Date; domain: string }): Promise<ImportedMessage> {
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
  const from = email.from && 'address' in email.from && email.from.address ? { name: email.from.name ?? '', address: email.from.address } : { name: '', address: '' };
  const parsedDate = email.date ? new Date(email.date) : null;
  const date = parsedDate && !Number.isNaN(parsedDate.getTime()) ? parsedDate : (opts.fallbackDate ?? opts.now);
  const messageId = bare(email.messageId) ?? `${crypto.randomUUID()}@${opts.domain}`;
  const inReplyTo = bare(email.inReplyTo);
  const references = (email.references ?? '').split(/\s+/).map(bare).filter((r): r is string => !!r);
  const attachments = email.attachments.map((a, i) => ({
    filename: a.filename ?? `attachment-${i + 1}`,
    contentType: a.mimeType || 'application/octet-stream',
    bytes: new Uint8Array(a.content as ArrayBuffer),
  }));
  const to = flat(email.to);
  const cc = flat(email.cc);
  const body = buildMime({
    from,
    to,
    cc,
    subject: email.subject ?? '',
    text: email.text ?? '',
    html: email.html ?? undefined,
    date,
    messageId,
    inReplyTo: inReplyTo ?? undefined,
    references,
    attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.bytes.length })),
    extraHeaders: [['X-Sealmail-Imported', opts.now.toISOString()]],
  });
  return { body, attachments, from, to, cc, date, messageId, inReplyTo, references };
}
