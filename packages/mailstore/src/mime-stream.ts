/**
 * Parsing a message held in memory without holding its attachments (docs/performance.md,
 * "Ingest"): mailparser's streaming `MailParser` instead of `simpleParser`, which joins every
 * decoded attachment into one Buffer. Each attachment's decoded bytes are handed to a sink as they
 * are decoded (the parser waits while the sink is busy), or counted and dropped. The raw message
 * goes in as 64 KiB views of the caller's buffer, never copied whole (mailparser joins what one
 * `write` gives it into one buffer, so a 25 MiB message written at once was copied, and its
 * parse took several times longer).
 */
import type { Readable, Writable } from 'node:stream';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText, type ParsedMail } from 'mailparser';

/** An attachment as a streaming parse saw it: what it is and how many decoded bytes it had. */
export interface AttachmentInfo {
  filename?: string | undefined;
  contentType: string;
  size: number;
}

/** What `simpleParser` answers, without attachment contents. */
export interface StreamedMail {
  headers: ParsedMail['headers'];
  subject?: string;
  references?: string | string[];
  date?: Date;
  to?: AddressObject | AddressObject[];
  from?: AddressObject;
  cc?: AddressObject | AddressObject[];
  messageId?: string;
  inReplyTo?: string;
  text?: string;
  html?: string | false;
  attachments: AttachmentInfo[];
  /** The header lines as they came (mailparser's `headerLines`: lower-case key, whole line). */
  headerLines: { key: string; line: string }[];
}

/**
 * Takes one attachment's decoded bytes, in order, as they come (a few KiB to 64 KiB at a time);
 * the parse continues once the promise resolves. A rejection ends the parse with that error.
 */
export type AttachmentSink = (attachment: { index: number; filename?: string | undefined; contentType: string }, content: AsyncIterable<Buffer>) => Promise<void>;

/** Bytes per write into a parser (the size mailsplit works in). */
export const PARSER_SLICE_BYTES = 64 * 1024;

/** Writes `raw` into `to` as views of at most PARSER_SLICE_BYTES, heeding backpressure, then ends it. */
export async function writeInSlices(to: Writable, raw: Uint8Array, stopped: () => boolean = () => false): Promise<void> {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let at = 0; at < buf.length && !stopped(); at += PARSER_SLICE_BYTES) {
    if (!to.write(buf.subarray(at, at + PARSER_SLICE_BYTES))) {
      await new Promise<void>((resolve) => {
        const go = () => {
          to.off('drain', go).off('close', go);
          resolve();
        };
        to.on('drain', go).on('close', go);
      });
    }
  }
  if (!stopped()) to.end();
}

const HEADER_FIELDS = ['subject', 'references', 'date', 'to', 'from', 'cc', 'message-id', 'in-reply-to'] as const;

/**
 * Parses `raw` (as `simpleParser` with `skipImageLinks`, `skipTextToHtml`, `keepCidLinks`): headers,
 * text and HTML, and each attachment's name, type and decoded size. With a sink, each attachment's
 * decoded bytes go to it one piece at a time; without, they are counted and dropped.
 * @throws what mailparser throws on a message it cannot parse, or what the sink throws.
 */
export function parseStreamed(raw: Uint8Array, sink?: AttachmentSink): Promise<StreamedMail> {
  return new Promise((resolve, reject) => {
    // No checksums: nothing here reads them (mailparser would MD5 every attachment).
    const parser = new MailParser({ skipImageLinks: true, skipTextToHtml: true, checksumAlgo: false });
    const mail: StreamedMail = { headers: new Map(), attachments: [], headerLines: [] };
    const work: Promise<void>[] = [];
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      parser.destroy();
      reject(err);
    };
    parser.on('headers', (headers: ParsedMail['headers']) => (mail.headers = headers));
    parser.on('headerLines', (lines: StreamedMail['headerLines']) => (mail.headerLines = lines));
    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'text') {
        if (data.text !== undefined) mail.text = data.text;
        if (data.html !== undefined) mail.html = data.html;
        return;
      }
      const info: AttachmentInfo = { filename: data.filename, contentType: data.contentType, size: 0 };
      const index = mail.attachments.push(info) - 1;
      const content = counted(data.content, info);
      const done = sink ? sink({ index, filename: info.filename, contentType: info.contentType }, content) : drain(content);
      // The parser goes on to the next part once this one is released.
      work.push(done.then(() => data.release?.(), fail));
    });
    parser.on('error', fail);
    parser.on('end', () => {
      void Promise.all(work).then(() => {
        if (failed) return;
        const h = mail.headers as Map<string, unknown>;
        for (const key of HEADER_FIELDS) if (h.has(key)) (mail as unknown as Record<string, unknown>)[key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = h.get(key);
        resolve(mail);
      });
    });
    writeInSlices(parser, raw, () => failed).catch(fail);
  });
}

async function* counted(content: Readable, info: AttachmentInfo): AsyncGenerator<Buffer> {
  for await (const chunk of content as AsyncIterable<Buffer>) {
    info.size += chunk.length;
    yield chunk;
  }
}

async function drain(content: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of content);
}
