/**
 * A streaming mbox splitter (RFC 4155; the mboxo and mboxrd variants; Google Takeout's files).
 *
 * Why not a library: the one maintained mbox reader on npm (mbox-reader, by mailparser's author)
 * keeps each message whole in memory without a limit, so a multi-gigabyte file without From_
 * separators (or one huge message) would sit in memory, and it tells no byte offsets. This
 * splitter holds at most one message (≤ `maxMessageBytes`) plus one input chunk: a larger
 * message is skipped and reported, and the next From_ line starts the next message.
 *
 * Rules:
 *  - A message starts at a line beginning `From ` that is the file's first line, follows an
 *    empty line (RFC 4155 §2), or carries an asctime date (`From x Thu Feb 19 10:03:21 2026`,
 *    for writers that leave out the empty line). The From_ line is not part of the message; its
 *    date is kept (for messages without a Date header).
 *  - Quoted From_ lines are unquoted: `>From ` → `From `, and (mboxrd) `>>From ` → `>From `.
 *  - Line ends may be CRLF or LF; messages come out with LF (mailparser reads either), so the
 *    same message hashes alike from either file. The empty line before the next From_ line
 *    belongs to the separator, not to the message.
 */

export interface MboxMessage {
  /** 0-based position in the file. */
  index: number;
  /** Byte offset of the From_ line. */
  offset: number;
  /** The message (LF line ends), or null when it was larger than allowed. */
  bytes: Buffer | null;
  /** Date on the From_ line, when it parses. */
  envelopeDate: Date | null;
  /** Size seen (only up to the limit for a skipped message). */
  size: number;
}

const FROM = Buffer.from('From ');
const ASCTIME = /^From \S+\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d/;

function envelopeDateOf(line: string): Date | null {
  const rest = line.replace(/^From \S+\s+/, '').trim();
  if (!rest) return null;
  const withZone = /[+-]\d\d:?\d\d|\bZ\b|UTC|GMT/i.test(rest) ? rest : rest + ' UTC';
  const d = new Date(withZone);
  if (!Number.isNaN(d.getTime())) return d;
  const d2 = new Date(rest);
  return Number.isNaN(d2.getTime()) ? null : d2;
}

/** Splits an mbox stream into messages; see the module comment. */
export async function* splitMbox(source: AsyncIterable<Uint8Array>, opts: { maxMessageBytes: number }): AsyncGenerator<MboxMessage> {
  const max = opts.maxMessageBytes;
  // The unfinished line: pieces of the chunks it came in, joined once when its end arrives (a line
  // spanning many chunks used to be joined again with every chunk: quadratic in its length).
  let tail: Buffer[] = [];
  let tailLength = 0;
  let lineStart = 0; // offset of the line being read
  let index = 0;
  type Current = { offset: number; chunks: Buffer[]; size: number; over: boolean; envelopeDate: Date | null };
  let current = null as Current | null;
  let prevEmpty = true; // the file's start counts as after an empty line
  let heldEmpty = false; // an empty line not yet given to the message (it may precede a From_ line)

  const finish = (): MboxMessage | null => {
    if (!current) return null;
    const m = current;
    current = null;
    const bytes = m.over ? null : Buffer.concat(m.chunks);
    return { index: index++, offset: m.offset, bytes, envelopeDate: m.envelopeDate, size: m.size };
  };
  const append = (line: Buffer) => {
    if (!current || current.over) return;
    current.size += line.length;
    if (current.size > max) {
      current.over = true;
      current.chunks = [];
      return;
    }
    current.chunks.push(line);
  };

  const handleLine = (raw: Buffer, lineOffset: number): MboxMessage | null => {
    // raw excludes the line end
    const line = raw.length && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (line.length >= 5 && line.subarray(0, 5).equals(FROM)) {
      const text = line.subarray(0, Math.min(line.length, 200)).toString('latin1');
      if (prevEmpty || ASCTIME.test(text)) {
        const done = finish();
        heldEmpty = false;
        current = { offset: lineOffset, chunks: [], size: 0, over: false, envelopeDate: envelopeDateOf(text) };
        prevEmpty = false;
        return done;
      }
    }
    if (heldEmpty) {
      append(Buffer.from('\n'));
      heldEmpty = false;
    }
    if (line.length === 0) {
      heldEmpty = true;
      prevEmpty = true;
      return null;
    }
    prevEmpty = false;
    // Unquote >From (mboxo) and >>…From (mboxrd): one '>' goes.
    let body = line;
    if (line[0] === 0x3e) {
      let i = 0;
      while (i < line.length && line[i] === 0x3e) i++;
      if (line.length - i >= 5 && line.subarray(i, i + 5).equals(FROM)) body = line.subarray(1);
    }
    append(Buffer.concat([body, Buffer.from('\n')]));
    return null;
  };

  for await (const c of source) {
    const chunk = Buffer.from(c);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const line = tailLength ? Buffer.concat([...tail, chunk.subarray(start, nl)]) : chunk.subarray(start, nl);
      tail = [];
      tailLength = 0;
      const done = handleLine(line, lineStart);
      if (done) yield done;
      lineStart += line.length + 1;
      start = nl + 1;
    }
    if (start === chunk.length) continue;
    tail.push(chunk.subarray(start));
    tailLength += chunk.length - start;
    // A line longer than a message may be: count it against the message and drop it.
    if (tailLength > max) {
      const cur = current as Current | null;
      if (cur) {
        cur.over = true;
        cur.chunks = [];
        cur.size += tailLength;
      }
      lineStart += tailLength;
      tail = [];
      tailLength = 0;
      prevEmpty = false;
    }
  }
  if (tailLength) {
    const done = handleLine(Buffer.concat(tail), lineStart);
    if (done) yield done;
  }
  const last = finish();
  if (last) yield last;
}

/** Counts the messages an mbox stream holds (the same rules, nothing kept). */
export async function countMbox(source: AsyncIterable<Uint8Array>, opts: { maxMessageBytes: number }): Promise<number> {
  let n = 0;
  for await (const m of splitMbox(source, opts)) {
    void m;
    n++;
  }
  return n;
}
