/**
 * The messages inside an uploaded file, one at a time: an mbox (split by ./mbox.ts), a zip
 * (yauzl, reading the sealed staging parts at random offsets) whose `.eml` entries are messages
 * and whose `.mbox` entries are split likewise — Google Takeout's archive as it is downloaded —
 * or a single .eml. Nothing holds more than one message in memory.
 */
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { ImportFormat } from '@sealmail/contract';
import { splitMbox } from './mbox';

export interface ImportItem {
  /** Where it was found, for reports: "message 12" or "mail/2019/a.eml" or "All mail.mbox, message 3". */
  where: string;
  /** The message, or null when it was larger than allowed. */
  bytes: Buffer | null;
  /** A date to use when the message names none (the mbox From_ line's, the zip entry's). */
  fallbackDate: Date | null;
}

export interface SourceFile {
  format: ImportFormat;
  size: number;
  /** The whole file from the start, as a stream. */
  stream: () => Readable;
  /** Reads [start, end) of the file. */
  read: (start: number, end: number) => Promise<Buffer>;
}

const isEml = (name: string) => /\.eml$/i.test(name) && !isJunk(name);
const isMbox = (name: string) => /\.mbox$/i.test(name) && !isJunk(name);
/** macOS resource forks and folders. */
const isJunk = (name: string) => name.endsWith('/') || /(^|\/)__MACOSX\//.test(name) || /(^|\/)\._/.test(name);

class StagingReader extends yauzl.RandomAccessReader {
  constructor(private readonly readRange: (start: number, end: number) => Promise<Buffer>) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    const read = this.readRange;
    return Readable.from(
      (async function* () {
        for (let at = start; at < end; ) {
          const next = Math.min(end, at + 1024 * 1024);
          yield await read(at, next);
          at = next;
        }
      })(),
      { objectMode: false },
    );
  }
}

async function openZip(file: SourceFile): Promise<yauzl.ZipFile> {
  return yauzl.fromRandomAccessReaderPromise(new StagingReader(file.read), file.size, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false });
}

async function readAll(stream: Readable, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      stream.destroy();
      return null;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Thrown when the file is not what its format says (not a zip, no messages). */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

/** A zip's mail entries may inflate to at most this many times its size (and at least 256 MiB in all). */
export const ZIP_INFLATE_RATIO = 100;

/**
 * Refuses a zip bomb before anything is inflated, from its central directory alone: mail entries
 * that overlap (several names for the same compressed bytes: 14 MB gave 40 GiB) or that declare
 * more than ZIP_INFLATE_RATIO times the file's size in all. yauzl holds each entry to its declared
 * size (validateEntrySizes), so the declared total bounds the work; one import of one organisation
 * could otherwise hold the shared import queue for hours.
 */
async function checkZip(file: SourceFile): Promise<void> {
  const zip = await openZip(file).catch((err: unknown) => {
    throw new SourceError(`not a readable zip file (${(err as Error).message})`);
  });
  try {
    const spans: { from: number; to: number }[] = [];
    let inflated = 0;
    for await (const entry of zip.eachEntry()) {
      if (!isEml(entry.fileName) && !isMbox(entry.fileName)) continue;
      // A local header is at least 30 bytes before the compressed data.
      spans.push({ from: entry.relativeOffsetOfLocalHeader, to: entry.relativeOffsetOfLocalHeader + 30 + entry.compressedSize });
      inflated += entry.uncompressedSize;
    }
    spans.sort((a, b) => a.from - b.from);
    for (let i = 1; i < spans.length; i++) if (spans[i]!.from < spans[i - 1]!.to) throw new SourceError('a zip whose entries overlap (one compressed stream under several names: a zip bomb) is not read');
    const allowed = Math.max(256 * 1024 * 1024, file.size * ZIP_INFLATE_RATIO);
    if (inflated > allowed) throw new SourceError(`the zip's mail would expand to ${Math.round(inflated / 1048576)} MiB, more than ${ZIP_INFLATE_RATIO} times its size: not read (a zip bomb?)`);
  } finally {
    zip.close();
  }
}

/** How many messages the file holds (a first, cheap pass: the progress shows done / total). */
export async function countMessages(file: SourceFile, maxMessageBytes: number): Promise<number> {
  if (file.format === 'eml') return 1;
  if (file.format === 'mbox') {
    let n = 0;
    for await (const m of splitMbox(file.stream(), { maxMessageBytes })) n += m ? 1 : 0;
    return n;
  }
  await checkZip(file);
  const zip = await openZip(file).catch((err: unknown) => {
    throw new SourceError(`not a readable zip file (${(err as Error).message})`);
  });
  try {
    let n = 0;
    for await (const entry of zip.eachEntry()) {
      if (isEml(entry.fileName)) n++;
      else if (isMbox(entry.fileName)) for await (const m of splitMbox(await zip.openReadStreamPromise(entry), { maxMessageBytes })) n += m ? 1 : 0;
    }
    return n;
  } finally {
    zip.close();
  }
}

/** The messages of the file, in order. */
export async function* messagesOf(file: SourceFile, maxMessageBytes: number): AsyncGenerator<ImportItem> {
  if (file.format === 'eml') {
    yield { where: 'the file', bytes: file.size > maxMessageBytes ? null : await readAll(file.stream(), maxMessageBytes), fallbackDate: null };
    return;
  }
  if (file.format === 'mbox') {
    for await (const m of splitMbox(file.stream(), { maxMessageBytes })) yield { where: `message ${m.index + 1} (byte ${m.offset})`, bytes: m.bytes, fallbackDate: m.envelopeDate };
    return;
  }
  await checkZip(file);
  const zip = await openZip(file).catch((err: unknown) => {
    throw new SourceError(`not a readable zip file (${(err as Error).message})`);
  });
  try {
    for await (const entry of zip.eachEntry()) {
      if (isEml(entry.fileName)) {
        const bytes = entry.uncompressedSize > maxMessageBytes ? null : await readAll(await zip.openReadStreamPromise(entry), maxMessageBytes);
        yield { where: entry.fileName, bytes, fallbackDate: entry.getLastModDate({ timezone: 'UTC' }) };
      } else if (isMbox(entry.fileName)) {
        for await (const m of splitMbox(await zip.openReadStreamPromise(entry), { maxMessageBytes })) yield { where: `${entry.fileName}, message ${m.index + 1}`, bytes: m.bytes, fallbackDate: m.envelopeDate };
      }
    }
  } finally {
    zip.close();
  }
}
