/**
 * On-device search over decrypted mail (MISSION §4): an inverted index of subject, people,
 * attachment names and body text, kept by each client and stored encrypted at rest (a local box
 * in the CLI, the key store's encrypted notes in the browser). The server never sees a term.
 *
 * Terms are lower-cased, accents stripped (NFD), split on anything but letters and digits.
 * A query matches documents containing every term; the last term also matches as a prefix (so
 * results come while typing). Hits are ranked by field weight (subject 4, people 3, attachment
 * names 2, body 1), then by date, newest first. Runs unchanged in browsers, workers and Node.
 */

export interface SearchDoc {
  entryId: string;
  folder: string;
  /** ISO date. */
  date: string;
  subject: string;
  from: string;
  to: readonly string[];
  cc: readonly string[];
  body: string;
  attachmentNames: readonly string[];
}

export interface SearchHit {
  entryId: string;
  folder: string;
  date: string;
  subject: string;
  from: string;
  score: number;
}

const WEIGHTS = { subject: 4, people: 3, attachments: 2, body: 1 } as const;
const MAX_BODY_CHARS = 20_000;
const FORMAT = 1;

/** Normalised terms of a text. */
export function terms(text: string): string[] {
  return (
    text
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).filter((t) => t.length <= 64);
}

interface Stored {
  entryId: string;
  folder: string;
  date: string;
  subject: string;
  from: string;
}

export class SearchIndex {
  /** Document number → stored fields (numbers are never reused within one index). */
  private docs = new Map<number, Stored>();
  private byEntry = new Map<string, number>();
  /** Term → document number → weight. */
  private postings = new Map<string, Map<number, number>>();
  /** Document number → its terms (for removal). */
  private docTerms = new Map<number, string[]>();
  private next = 0;
  private sortedTerms: string[] | null = null;

  get size(): number {
    return this.docs.size;
  }

  has(entryId: string): boolean {
    return this.byEntry.has(entryId);
  }

  /** Adds (or replaces) a document. */
  add(doc: SearchDoc): void {
    this.remove(doc.entryId);
    const n = this.next++;
    const weights = new Map<string, number>();
    const put = (text: string, w: number) => {
      for (const t of terms(text)) weights.set(t, (weights.get(t) ?? 0) + w);
    };
    put(doc.subject, WEIGHTS.subject);
    put([doc.from, ...doc.to, ...doc.cc].join(' '), WEIGHTS.people);
    put(doc.attachmentNames.join(' '), WEIGHTS.attachments);
    put(doc.body.slice(0, MAX_BODY_CHARS), WEIGHTS.body);
    for (const [t, w] of weights) {
      let p = this.postings.get(t);
      if (!p) {
        p = new Map();
        this.postings.set(t, p);
        this.sortedTerms = null;
      }
      p.set(n, w);
    }
    this.docs.set(n, { entryId: doc.entryId, folder: doc.folder, date: doc.date, subject: doc.subject, from: doc.from });
    this.byEntry.set(doc.entryId, n);
    this.docTerms.set(n, [...weights.keys()]);
  }

  /** Forgets a document (deleted mail). */
  remove(entryId: string): void {
    const n = this.byEntry.get(entryId);
    if (n === undefined) return;
    for (const t of this.docTerms.get(n) ?? []) {
      const p = this.postings.get(t);
      p?.delete(n);
      if (p && p.size === 0) {
        this.postings.delete(t);
        this.sortedTerms = null;
      }
    }
    this.docs.delete(n);
    this.docTerms.delete(n);
    this.byEntry.delete(entryId);
  }

  /** Updates the folder of a document (moved mail). */
  move(entryId: string, folder: string): void {
    const n = this.byEntry.get(entryId);
    const d = n === undefined ? undefined : this.docs.get(n);
    if (d) d.folder = folder;
  }

  /** Terms starting with `prefix`, by binary search over the sorted vocabulary. */
  private withPrefix(prefix: string): string[] {
    this.sortedTerms ??= [...this.postings.keys()].sort();
    const all = this.sortedTerms;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < all.length && all[i]!.startsWith(prefix) && out.length < 200; i++) out.push(all[i]!);
    return out;
  }

  /** Documents matching every term of `query` (the last also as a prefix), best first. */
  search(query: string, opts: { limit?: number; folder?: string } = {}): SearchHit[] {
    const q = terms(query);
    if (!q.length) return [];
    // Each term's matches (the last one's by prefix), rarest first: intersections stay small.
    const perTerm = q.map((term, i) => {
      const matching = i === q.length - 1 ? this.withPrefix(term) : this.postings.has(term) ? [term] : [];
      return { term, postings: matching.map((t) => ({ exact: t === term, p: this.postings.get(t)! })) };
    });
    const weight = (x: (typeof perTerm)[number]) => x.postings.reduce((n, p) => n + p.p.size, 0);
    perTerm.sort((a, b) => weight(a) - weight(b));
    let scores: Map<number, number> | null = null;
    for (const { postings } of perTerm) {
      const here = new Map<number, number>();
      for (const { exact, p } of postings) {
        if (scores) {
          // Walk the smaller side.
          if (scores.size < p.size) {
            for (const [n, prev] of scores) {
              const w = p.get(n);
              if (w !== undefined) here.set(n, Math.max(here.get(n) ?? prev, prev + (exact ? w * 2 : w)));
            }
          } else {
            for (const [n, w] of p) {
              const prev = scores.get(n);
              if (prev !== undefined) here.set(n, Math.max(here.get(n) ?? prev, prev + (exact ? w * 2 : w)));
            }
          }
        } else {
          // A whole-word match counts more than a prefix match.
          for (const [n, w] of p) here.set(n, Math.max(here.get(n) ?? 0, exact ? w * 2 : w));
        }
      }
      scores = here;
      if (!scores.size) return [];
    }
    const hits: SearchHit[] = [];
    for (const [n, score] of scores!) {
      const d = this.docs.get(n)!;
      if (opts.folder && d.folder !== opts.folder) continue;
      hits.push({ ...d, score });
    }
    hits.sort((a, b) => b.score - a.score || (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
    return hits.slice(0, opts.limit ?? 50);
  }

  /** The index as bytes (to be sealed before it is stored). */
  serialize(): Uint8Array {
    const docs = [...this.docs].map(([n, d]) => [n, d.entryId, d.folder, d.date, d.subject, d.from]);
    const postings = [...this.postings].map(([t, p]) => [t, [...p].flat()]);
    return new TextEncoder().encode(JSON.stringify({ v: FORMAT, next: this.next, docs, postings }));
  }

  /** Reads what `serialize` wrote. @throws Error on another format. */
  static deserialize(bytes: Uint8Array): SearchIndex {
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as { v: number; next: number; docs: [number, string, string, string, string, string][]; postings: [string, number[]][] };
    if (raw.v !== FORMAT) throw new Error(`search index: unknown format ${raw.v}`);
    const ix = new SearchIndex();
    ix.next = raw.next;
    for (const [n, entryId, folder, date, subject, from] of raw.docs) {
      ix.docs.set(n, { entryId, folder, date, subject, from });
      ix.byEntry.set(entryId, n);
      ix.docTerms.set(n, []);
    }
    for (const [t, flat] of raw.postings) {
      const p = new Map<number, number>();
      for (let i = 0; i < flat.length; i += 2) {
        p.set(flat[i]!, flat[i + 1]!);
        ix.docTerms.get(flat[i]!)?.push(t);
      }
      ix.postings.set(t, p);
    }
    return ix;
  }
}

/** What the indexer needs of a Mailer (kept narrow so it is easy to test and reuse). */
export interface IndexSource {
  list: (
    opts: { folder?: FolderNameLike; cursor?: string | null; limit?: number },
    only: (entry: { id: string; folder: string }) => boolean,
  ) => Promise<{
    items: ({ entryId: string; entry: { folder: string; sentAt: string; from: string }; subject: string; mime: { text: string; to: string[]; cc: string[]; attachments: { filename: string }[] } } | { entryId: string; error: string })[];
    cursor: string | null;
    skipped: number;
  }>;
}
type FolderNameLike = 'inbox' | 'drafts' | 'sent' | 'outbox' | 'archive' | 'trash' | 'spam';

/**
 * Adds mail the index does not hold yet, folder by folder, newest first; a folder stops at the
 * first page that contains something already indexed (new mail comes first), so a sync after
 * the first costs one page per folder. Entries already indexed get their folder updated.
 */
export async function syncSearchIndex(source: IndexSource, index: SearchIndex, opts: { folders?: readonly FolderNameLike[]; pageSize?: number } = {}): Promise<{ added: number }> {
  let added = 0;
  for (const folder of opts.folders ?? (['inbox', 'sent', 'archive', 'drafts', 'spam', 'trash'] as const)) {
    let cursor: string | null = null;
    for (;;) {
      const page: Awaited<ReturnType<IndexSource['list']>> = await source.list({ folder, cursor, limit: opts.pageSize ?? 100 }, (e) => {
        if (!index.has(e.id)) return true;
        index.move(e.id, e.folder);
        return false;
      });
      for (const item of page.items) {
        if ('error' in item) continue;
        index.add({
          entryId: item.entryId,
          folder: item.entry.folder,
          date: item.entry.sentAt,
          subject: item.subject,
          from: item.entry.from,
          to: item.mime.to,
          cc: item.mime.cc,
          body: item.mime.text,
          attachmentNames: item.mime.attachments.map((a) => a.filename),
        });
        added++;
      }
      if (page.skipped > 0 || !page.cursor) break;
      cursor = page.cursor;
    }
  }
  return { added };
}
