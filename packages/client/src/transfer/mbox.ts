/**
 * mbox files (RFC 4155), written as **mboxrd** and read as mboxo or mboxrd, on the device (browser,
 * worker or Node alike: bytes in, bytes out, no Buffer). The same rules as the admin import's
 * splitter (apps/api/src/imports/mbox.ts), which runs on the server and uses Node's Buffer.
 *
 * Writing: each message gets a `From <sender> <asctime date>` line; every line of the message that
 * matches `^>*From ` gets one more `>` (mboxrd: reversible, unlike mboxo); line ends become LF; a
 * message ends with an empty line.
 *
 * Reading: a message starts at a `From ` line that is the file's first line or follows an empty
 * line (or carries an asctime date); one `>` is taken from each `^>+From ` line; the empty line
 * before the next From_ line belongs to the separator. At most `maxMessageBytes` are held: a larger
 * message is reported as skipped (bytes null), never held whole.
 */

const FROM = [0x46, 0x72, 0x6f, 0x6d, 0x20]; // "From "
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ASCTIME = /^From \S+\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d/;
const te = new TextEncoder();

/** The asctime form of a date in UTC, as From_ lines carry it: `Thu Feb 19 10:03:21 2026`. */
export function asctime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

const startsWithFrom = (b: Uint8Array, at: number, end: number) => end - at >= 5 && FROM.every((c, i) => b[at + i] === c);

/** One message as an mboxrd record: From_ line, quoted body with LF line ends, an empty line. */
export function mboxrdRecord(message: Uint8Array, sender: string, date: Date): Uint8Array {
  const envelope = (sender.replace(/[\s<>]/g, '') || 'MAILER-DAEMON').slice(0, 254);
  const head = te.encode(`From ${envelope} ${asctime(date)}\n`);
  const chunks: Uint8Array[] = [head];
  let start = 0;
  const pushLine = (from: number, to: number) => {
    // mboxrd quoting: ">*From " gets one more ">".
    let i = from;
    while (i < to && message[i] === 0x3e) i++;
    if (startsWithFrom(message, i, to)) chunks.push(new Uint8Array([0x3e]));
    chunks.push(message.subarray(from, to));
    chunks.push(new Uint8Array([0x0a]));
  };
  for (let i = 0; i < message.length; i++) {
    if (message[i] !== 0x0a) continue;
    pushLine(start, i > start && message[i - 1] === 0x0d ? i - 1 : i);
    start = i + 1;
  }
  if (start < message.length) pushLine(start, message[message.length - 1] === 0x0d ? message.length - 1 : message.length);
  chunks.push(new Uint8Array([0x0a]));
  return concatBytes(chunks);
}

export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export interface MboxMessage {
  index: number;
  /** The message with LF line ends, unquoted; null when it was larger than allowed. */
  bytes: Uint8Array | null;
  /** The From_ line's date, when it parses (for messages without a Date header). */
  envelopeDate: Date | null;
  size: number;
}

function envelopeDateOf(line: string): Date | null {
  const rest = line.replace(/^From \S+\s+/, '').trim();
  if (!rest) return null;
  const d = new Date(/[+-]\d\d:?\d\d|\bZ\b|UTC|GMT/i.test(rest) ? rest : `${rest} UTC`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Splits an mbox stream into messages (see the module comment). */
export async function* splitMbox(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: { maxMessageBytes: number }): AsyncGenerator<MboxMessage> {
  const max = opts.maxMessageBytes;
  let pending: Uint8Array = new Uint8Array(0);
  let index = 0;
  type Current = { chunks: Uint8Array[]; size: number; over: boolean; envelopeDate: Date | null };
  let current = null as Current | null;
  let prevEmpty = true;
  let heldEmpty = false;
  const NL = new Uint8Array([0x0a]);
  const finish = (): MboxMessage | null => {
    if (!current) return null;
    const m = current;
    current = null;
    return { index: index++, bytes: m.over ? null : concatBytes(m.chunks), envelopeDate: m.envelopeDate, size: m.size };
  };
  const append = (b: Uint8Array) => {
    if (!current || current.over) return;
    current.size += b.length;
    if (current.size > max) {
      current.over = true;
      current.chunks = [];
      return;
    }
    current.chunks.push(b.slice());
  };
  const handleLine = (raw: Uint8Array): MboxMessage | null => {
    const line = raw.length && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (startsWithFrom(line, 0, line.length)) {
      const text = String.fromCharCode(...line.subarray(0, Math.min(line.length, 200)));
      if (prevEmpty || ASCTIME.test(text)) {
        const done = finish();
        heldEmpty = false;
        current = { chunks: [], size: 0, over: false, envelopeDate: envelopeDateOf(text) };
        prevEmpty = false;
        return done;
      }
    }
    if (heldEmpty) {
      append(NL);
      heldEmpty = false;
    }
    if (line.length === 0) {
      heldEmpty = true;
      prevEmpty = true;
      return null;
    }
    prevEmpty = false;
    let i = 0;
    while (i < line.length && line[i] === 0x3e) i++;
    append(i > 0 && startsWithFrom(line, i, line.length) ? line.subarray(1) : line);
    append(NL);
    return null;
  };
  for await (const chunk of source) {
    pending = pending.length ? concatBytes([pending, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = pending.indexOf(0x0a, start);
      if (nl < 0) break;
      const done = handleLine(pending.subarray(start, nl));
      if (done) yield done;
      start = nl + 1;
    }
    pending = pending.slice(start);
    const cur = current as Current | null;
    if (pending.length > max && cur) {
      cur.over = true;
      cur.chunks = [];
      cur.size += pending.length;
      pending = new Uint8Array(0);
      prevEmpty = false;
    } else if (pending.length > max) {
      // A line past the limit before any message (an endless first From_ line, or no mbox at
      // all): dropped, as the server's splitter does — it was held whole and copied at every chunk.
      pending = new Uint8Array(0);
      prevEmpty = false;
    }
  }
  if (pending.length) {
    const done = handleLine(pending);
    if (done) yield done;
  }
  const last = finish();
  if (last) yield last;
}
