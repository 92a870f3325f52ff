/**
 * HTTP byte ranges on blob downloads (RFC 9110 §14): one range per request, so a client can
 * resume a download or fetch one part (`bytes=<n·partBytes>-<(n+1)·partBytes-1>`). Several ranges
 * in one request (multipart/byteranges) are not offered.
 */
import type { BlobStore } from '@sealmail/mailstore';

/** The first and last byte (inclusive) of a satisfiable range. */
export interface ByteRange {
  first: number;
  last: number;
}

/**
 * Reads a `Range` header against a blob of `size` bytes: null when there is none (the whole blob),
 * 'unsatisfiable' when it is malformed, names several ranges, another unit, or starts at or past
 * the end; otherwise the range, its end clamped to the blob (RFC 9110 §14.1.2).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  if (m[1] === '') {
    // bytes=-n: the last n bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { first: Math.max(0, size - n), last: size - 1 };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (first >= size || (m[2] !== '' && Number(m[2]) < first)) return 'unsatisfiable';
  return { first, last };
}

/**
 * The bytes `first..last` of a stored blob, read part by part (one part ahead, like
 * `BlobStore.read`): only the parts the range touches are read, and only the range is sent.
 */
export async function* readRange(store: BlobStore, blobId: string, range: ByteRange): AsyncIterable<Uint8Array> {
  const sizes = await store.partSizes(blobId);
  let at = 0;
  const wanted: { index: number; from: number; to: number }[] = [];
  for (let index = 0; sizes.has(index) && at <= range.last; index++) {
    const size = sizes.get(index)!;
    if (at + size > range.first) wanted.push({ index, from: Math.max(0, range.first - at), to: Math.min(size, range.last - at + 1) });
    at += size;
  }
  if (at <= range.last) throw new Error(`blob ${blobId} lost a part before byte ${range.last}`);
  const fetch = (i: number) => (i < wanted.length ? store.readPart(blobId, wanted[i]!.index) : null);
  let next = fetch(0);
  for (let i = 0; i < wanted.length; i++) {
    const bytes = await next!;
    next = fetch(i + 1);
    next?.catch(() => {}); // awaited on the next turn; a reader that stops early leaves it
    const w = wanted[i]!;
    if (!bytes) throw new Error(`blob ${blobId} lost part ${w.index}`);
    yield w.from === 0 && w.to === bytes.length ? bytes : bytes.subarray(w.from, w.to);
  }
}
