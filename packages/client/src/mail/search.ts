/**
 * On-device search over decrypted mail (MISSION §4, docs/mail.md §6): an inverted index of
 * subject, people, attachment names and body text, kept by each client and stored encrypted at
 * rest (a local box next to the key file in the CLI, the key store's encrypted notes in the
 * browser; see {@link SearchStore}). The server never sees a term.
 *
 * Terms are lower-cased, accents stripped (NFD, plus ß/æ/ø/ł… folded by hand), split on anything
 * but letters and digits. A query matches documents containing every term; the last term also
 * matches as a prefix (so results come while typing). Hits are ranked by the fields each term was
 * found in (subject 4, from 3, recipients 2, attachment names 2, body 1; a whole word counts
 * twice a prefix), then by date, newest first; each hit says which fields matched.
 *
 * Layout, chosen to stay small in a browser worker's memory and quick to store: one sorted array
 * of small integers per term (document number × 32 + a bit mask of the fields the term occurs
 * in), documents numbered in the order they were added, removals left as tombstones until the
 * next compaction. Searches intersect rarest-first over dense scratch arrays. Runs unchanged in
 * browsers, workers and Node (no Node built-ins).
 */
import { base64 } from '../base64';

export interface SearchDoc {
  entryId: string;
  folder: string;
  /** ISO date. */
  date: string;
  subject: string;
  /** The sender's address (shown in hits). */
  from: string;
  /** The sender's display name (searchable, not stored). */
  fromName?: string;
  to: readonly string[];
  cc: readonly string[];
  body: string;
  attachmentNames: readonly string[];
}

/** The parts of a mail a query term can be found in. */
export type SearchField = 'subject' | 'from' | 'recipients' | 'attachments' | 'body';

export interface SearchHit {
  entryId: string;
  folder: string;
  date: string;
  subject: string;
  from: string;
  score: number;
  /** The fields in which the query's terms were found. */
  matched: SearchField[];
}

/** Where a client keeps its index between runs. Implementations seal the bytes at rest. */
export interface SearchStore {
  /** The bytes last saved, or null when there are none (or they cannot be opened here). */
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array): Promise<void>;
}

const FIELDS: readonly SearchField[] = ['subject', 'from', 'recipients', 'attachments', 'body'];
const BIT = { subject: 1, from: 2, recipients: 4, attachments: 8, body: 16 } as const;
const WEIGHT: Record<SearchField, number> = { subject: 4, from: 3, recipients: 2, attachments: 2, body: 1 };
/** Score of a field mask: the sum of its fields' weights. */
const SCORE = Array.from({ length: 32 }, (_, m) => FIELDS.reduce((s, f, i) => (m & (1 << i) ? s + WEIGHT[f] : s), 0));
const fieldsOf = (mask: number) => FIELDS.filter((_, i) => mask & (1 << i));
/** Only the start of very long bodies is indexed (quoted history and signatures follow). */
const MAX_BODY_CHARS = 20_000;
const MAX_TERM_CHARS = 64;
const FORMAT = 2;

/** Letters NFD does not decompose, folded as readers expect (a search for "oresund" finds "Øresund"). */
const FOLD: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ı: 'i' };

/** Normalised terms of a text. */
export function terms(text: string): string[] {
  return (
    text
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[ßæœøđðłþı]/g, (c) => FOLD[c]!)
      .match(/[\p{L}\p{N}]+/gu) ?? []
  ).filter((t) => t.length <= MAX_TERM_CHARS);
}

interface Stored {
  entryId: string;
  folder: string;
  date: string;
  /** `date` in milliseconds, for ranking. */
  time: number;
  subject: string;
  from: string;
}

/** Index of the first element of a sorted posting list whose document is ≥ `doc` (or the length). */
function lowerBound(p: readonly number[], doc: number): number {
  const key = doc * 32;
  let lo = 0;
  let hi = p.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SearchIndex {
  /** Document number → stored fields; `undefined` once removed (a tombstone). */
  private docs: (Stored | undefined)[] = [];
  private byEntry = new Map<string, number>();
  /** Term → ascending `doc * 32 + fieldMask`. */
  private postings = new Map<string, number[]>();
  /** Every term, sorted (for prefix ranges), with its posting list at the same index; `null` = rebuild. */
  private sortedTerms: string[] | null = null;
  private sortedLists: number[][] = [];
  /** Terms added since `sortedTerms` was built, merged in by the next search. */
  private newTerms: string[] = [];
  /** What the last search touched: posting lists read for its terms (the prefix's expansions included), and postings visited. */
  lastSearch = { lists: 0, expansions: 0, postings: 0 };
  private dead = 0;
  /** Entries seen but not openable on this device (yet): entry id → folder. Retried by syncs. */
  private unreadable = new Map<string, string>();
  // Scratch space for searches, reused (entries are valid only when stamped with the current round).
  private round = 0;
  private stamp = new Int32Array(0);
  private alive = new Int32Array(0);
  private roundScore = new Float64Array(0);
  private roundMask = new Uint8Array(0);
  private score = new Float64Array(0);
  private mask = new Uint8Array(0);
  private found = new Int32Array(0);
  private candidates = new Int32Array(0);

  /**
   * A prefix expands to every word it starts, unless their posting lists together hold more than
   * {@link PREFIX_POSTINGS} entries (one or two letters typed into a big mailbox): then to the
   * whole word (when it is one) and the commonest completions, at most {@link MAX_EXPANSIONS}
   * and as many as fit in {@link PREFIX_POSTINGS} postings (the commonest always), the way
   * Lucene's and Elasticsearch's prefix queries cap `max_expansions`. The next letter typed
   * narrows it. A prefix after rarer words is only probed for their candidates and expands fully
   * while that stays cheap ({@link PROBE_BUDGET} lookups).
   */
  static readonly MAX_EXPANSIONS = 50;
  static readonly PREFIX_POSTINGS = 200_000;
  static readonly PROBE_BUDGET = 200_000;

  /** How many mails are indexed. */
  get size(): number {
    return this.byEntry.size;
  }

  has(entryId: string): boolean {
    return this.byEntry.has(entryId);
  }

  /** Adds (or replaces) a document. */
  add(doc: SearchDoc): void {
    this.remove(doc.entryId);
    const n = this.docs.length;
    const masks = new Map<string, number>();
    const put = (text: string, bit: number) => {
      for (const t of terms(text)) masks.set(t, (masks.get(t) ?? 0) | bit);
    };
    put(doc.subject, BIT.subject);
    put(`${doc.fromName ?? ''} ${doc.from}`, BIT.from);
    put([...doc.to, ...doc.cc].join(' '), BIT.recipients);
    put(doc.attachmentNames.join(' '), BIT.attachments);
    put(doc.body.slice(0, MAX_BODY_CHARS), BIT.body);
    for (const [t, m] of masks) {
      let p = this.postings.get(t);
      if (!p) {
        p = [];
        this.postings.set(t, p);
        if (this.sortedTerms) this.newTerms.push(t);
      }
      p.push(n * 32 + m); // n is the largest number so far: the list stays sorted
    }
    this.docs.push({ entryId: doc.entryId, folder: doc.folder, date: doc.date, time: Date.parse(doc.date) || 0, subject: doc.subject, from: doc.from });
    this.byEntry.set(doc.entryId, n);
  }

  /** Forgets a document (deleted mail). */
  remove(entryId: string): void {
    this.unreadable.delete(entryId);
    const n = this.byEntry.get(entryId);
    if (n === undefined) return;
    this.docs[n] = undefined;
    this.byEntry.delete(entryId);
    if (++this.dead > 1000 && this.dead > this.byEntry.size) this.compact();
  }

  /** Updates the folder of a document (moved mail). @returns whether anything changed. */
  move(entryId: string, folder: string): boolean {
    const n = this.byEntry.get(entryId);
    const d = n === undefined ? undefined : this.docs[n];
    if (d && d.folder !== folder) d.folder = folder;
    else if (!d && this.unreadable.has(entryId) && this.unreadable.get(entryId) !== folder) this.unreadable.set(entryId, folder);
    else return false;
    return true;
  }

  /** Remembers a mail this device could not open, so a later sync tries it again. */
  markUnreadable(entryId: string, folder: string): void {
    if (!this.byEntry.has(entryId)) this.unreadable.set(entryId, folder);
  }

  isUnreadable(entryId: string): boolean {
    return this.unreadable.has(entryId);
  }

  /** Mails not opened yet, oldest note first. */
  unreadableEntries(): [entryId: string, folder: string][] {
    return [...this.unreadable];
  }

  /** How many mails of a folder the index knows (indexed or noted unreadable). */
  countIn(folder: string): number {
    let n = 0;
    for (const d of this.docs) if (d?.folder === folder) n++;
    for (const f of this.unreadable.values()) if (f === folder) n++;
    return n;
  }

  /** Drops tombstones from the posting lists (and terms left without documents). */
  private compact(): void {
    for (const [t, p] of this.postings) {
      const kept = p.filter((x) => this.docs[x >>> 5] !== undefined);
      if (kept.length) this.postings.set(t, kept);
      else this.postings.delete(t);
    }
    this.sortedTerms = null; // the lists were replaced
    this.dead = 0;
  }

  /** The sorted vocabulary (and the lists beside it), brought up to date: a full sort once, then merges of what was added. */
  private vocabulary(): { all: string[]; lists: number[][] } {
    if (!this.sortedTerms) {
      this.sortedTerms = [...this.postings.keys()].sort();
      this.sortedLists = this.sortedTerms.map((t) => this.postings.get(t)!);
      this.newTerms = [];
    } else if (this.newTerms.length) {
      const add = this.newTerms.sort();
      const old = this.sortedTerms;
      const all = new Array<string>(old.length + add.length);
      let i = 0;
      let j = 0;
      for (let k = 0; k < all.length; k++) all[k] = j >= add.length || (i < old.length && old[i]! < add[j]!) ? old[i++]! : add[j++]!;
      this.sortedTerms = all;
      this.sortedLists = all.map((t) => this.postings.get(t)!);
      this.newTerms = [];
    }
    return { all: this.sortedTerms, lists: this.sortedLists };
  }

  /** The range of the sorted vocabulary that starts with `prefix`. */
  private prefixRange(all: readonly string[], prefix: string): [number, number] {
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    // Everything starting with `prefix` sorts before `prefix` + U+FFFF.
    const end = prefix + '\uffff';
    let top = lo;
    hi = all.length;
    while (top < hi) {
      const mid = (top + hi) >>> 1;
      if (all[mid]! < end) top = mid + 1;
      else hi = mid;
    }
    return [lo, top];
  }

  /**
   * The posting lists a prefix stands for: all of its range, or (see {@link MAX_EXPANSIONS}) the
   * whole word and the commonest completions. @returns the lists and whether each is the whole word.
   */
  private expand(prefix: string, probeBy: number): { p: number[]; exact: boolean }[] {
    const { all, lists } = this.vocabulary();
    const [lo, hi] = this.prefixRange(all, prefix);
    let total = 0;
    for (let i = lo; i < hi; i++) total += lists[i]!.length;
    const everything = () => {
      const out: { p: number[]; exact: boolean }[] = [];
      for (let i = lo; i < hi; i++) out.push({ p: lists[i]!, exact: all[i] === prefix });
      return out;
    };
    const n = hi - lo;
    if (total <= SearchIndex.PREFIX_POSTINGS || probeBy * n * 8 <= SearchIndex.PROBE_BUDGET) return everything();
    // The commonest completions: a min-heap (by list length) of range positions.
    const k = SearchIndex.MAX_EXPANSIONS;
    const exactAt = all[lo] === prefix ? lo : -1;
    const heap: number[] = [];
    const len = (i: number) => lists[i]!.length;
    const down = (at: number) => {
      for (;;) {
        const l = at * 2 + 1;
        const r = l + 1;
        let m = at;
        if (l < heap.length && len(heap[l]!) < len(heap[m]!)) m = l;
        if (r < heap.length && len(heap[r]!) < len(heap[m]!)) m = r;
        if (m === at) return;
        [heap[at], heap[m]] = [heap[m]!, heap[at]!];
        at = m;
      }
    };
    const room = exactAt >= 0 ? k - 1 : k;
    for (let i = lo; i < hi; i++) {
      if (i === exactAt) continue;
      if (heap.length < room) {
        heap.push(i);
        for (let at = heap.length - 1; at > 0; ) {
          const up = (at - 1) >> 1;
          if (len(heap[up]!) <= len(heap[at]!)) break;
          [heap[at], heap[up]] = [heap[up]!, heap[at]!];
          at = up;
        }
      } else if (len(i) > len(heap[0]!)) {
        heap[0] = i;
        down(0);
      }
    }
    // Commonest first, while they fit in the budget (the commonest always).
    heap.sort((a, b) => len(b) - len(a));
    const out: { p: number[]; exact: boolean }[] = [];
    let budget = SearchIndex.PREFIX_POSTINGS;
    if (exactAt >= 0) {
      out.push({ p: lists[exactAt]!, exact: true });
      budget -= len(exactAt);
    }
    for (const i of heap) {
      if (out.length > (exactAt >= 0 ? 1 : 0) && len(i) > budget) break;
      out.push({ p: lists[i]!, exact: false });
      budget -= len(i);
    }
    return out;
  }

  private scratch(): void {
    const n = this.docs.length;
    if (this.stamp.length < n || this.round > 0x3fffffff) {
      const size = Math.max(n, this.stamp.length * 2, 1024);
      this.stamp = new Int32Array(size);
      this.alive = new Int32Array(size);
      this.roundScore = new Float64Array(size);
      this.roundMask = new Uint8Array(size);
      this.score = new Float64Array(size);
      this.mask = new Uint8Array(size);
      this.found = new Int32Array(size);
      this.candidates = new Int32Array(size);
      this.round = 0;
    }
  }

  /**
   * Documents matching every term of `query` (the last also as a prefix), best first: `limit`
   * of them (50) after skipping `offset` (0). Terms are intersected rarest first over reused
   * scratch arrays (no allocation per posting), and only the best `offset + limit` are ranked
   * in full (score buckets, then the newest of the last bucket), not every match.
   */
  search(query: string, opts: { limit?: number; offset?: number; folder?: string } = {}): SearchHit[] {
    const stats = (this.lastSearch = { lists: 0, expansions: 0, postings: 0 });
    const q = terms(query);
    if (!q.length) return [];
    const last = q[q.length - 1]!;
    // One group per query term: the posting lists that satisfy it (several for the prefix).
    const groups: { lists: { p: number[]; exact: boolean }[]; size: number }[] = [];
    let rarest = Infinity;
    for (const t of new Set(q.slice(0, -1))) {
      const p = this.postings.get(t);
      if (!p) return [];
      groups.push({ lists: [{ p, exact: true }], size: p.length });
      rarest = Math.min(rarest, p.length);
    }
    const lists = this.expand(last, rarest);
    if (!lists.length) return [];
    stats.expansions = lists.length;
    groups.push({ lists, size: lists.reduce((n, l) => n + l.p.length, 0) });
    // Rarest first: the candidate set only shrinks, and later groups are probed, not walked.
    groups.sort((a, b) => a.size - b.size);

    this.scratch();
    const { stamp, alive, roundScore, roundMask, score, mask, docs } = this;
    let candidates = this.candidates;
    let found = this.found;
    let count = -1; // candidates so far; -1 before the first group
    let previous = 0;
    for (const group of groups) {
      const r = ++this.round;
      let nfound = 0;
      for (const { p, exact } of group.lists) {
        stats.lists++;
        const x2 = exact ? 2 : 1; // a whole word counts twice a prefix
        const probe = count >= 0 && count * Math.log2(p.length + 2) < p.length;
        const n = probe ? count : p.length;
        stats.postings += n;
        for (let i = 0; i < n; i++) {
          let d: number;
          let m: number;
          if (probe) {
            // Few candidates, long list: binary-search each candidate.
            d = candidates[i]!;
            const j = lowerBound(p, d);
            if (j >= p.length || p[j]! >>> 5 !== d) continue;
            m = p[j]! & 31;
          } else {
            const x = p[i]!;
            d = x >>> 5;
            if (count >= 0 ? alive[d] !== previous : !docs[d]) continue;
            m = x & 31;
          }
          const w = SCORE[m]! * x2;
          if (stamp[d] !== r) {
            stamp[d] = r;
            roundScore[d] = w;
            roundMask[d] = m;
            found[nfound++] = d;
          } else {
            if (w > roundScore[d]!) roundScore[d] = w;
            roundMask[d]! |= m;
          }
        }
      }
      for (let i = 0; i < nfound; i++) {
        const d = found[i]!;
        score[d] = count < 0 ? roundScore[d]! : score[d]! + roundScore[d]!;
        mask[d] = count < 0 ? roundMask[d]! : mask[d]! | roundMask[d]!;
        alive[d] = r;
      }
      [candidates, found] = [found, candidates];
      count = nfound;
      previous = r;
      if (!count) return [];
    }
    this.candidates = candidates;
    this.found = found;
    // Rank only what is shown: scores are small whole numbers, so count the candidates per score,
    // keep every candidate above the score where `want` is reached, and the newest at that score.
    const want = (opts.offset ?? 0) + (opts.limit ?? 50);
    const folder = opts.folder;
    const buckets = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const d = candidates[i]!;
      if (folder && docs[d]!.folder !== folder) continue;
      buckets.set(score[d]!, (buckets.get(score[d]!) ?? 0) + 1);
    }
    let cut = -Infinity;
    let above = 0;
    for (const s of [...buckets.keys()].sort((a, b) => b - a)) {
      if (above + buckets.get(s)! >= want) {
        cut = s;
        break;
      }
      above += buckets.get(s)!;
    }
    const top: number[] = [];
    const edge: number[] = []; // candidates at the cut score: the newest `want - above` of them (a min-heap by date)
    const room = want - above;
    const older = (a: number, b: number) => docs[a]!.time < docs[b]!.time || (docs[a]!.time === docs[b]!.time && a < b);
    for (let i = 0; i < count; i++) {
      const d = candidates[i]!;
      if (folder && docs[d]!.folder !== folder) continue;
      if (score[d]! > cut) top.push(d);
      else if (score[d] === cut) {
        if (edge.length < room) {
          edge.push(d);
          for (let at = edge.length - 1; at > 0; ) {
            const up = (at - 1) >> 1;
            if (!older(edge[at]!, edge[up]!)) break;
            [edge[at], edge[up]] = [edge[up]!, edge[at]!];
            at = up;
          }
        } else if (room > 0 && older(edge[0]!, d)) {
          edge[0] = d;
          for (let at = 0; ; ) {
            const l = at * 2 + 1;
            const rr = l + 1;
            let m = at;
            if (l < edge.length && older(edge[l]!, edge[m]!)) m = l;
            if (rr < edge.length && older(edge[rr]!, edge[m]!)) m = rr;
            if (m === at) break;
            [edge[at], edge[m]] = [edge[m]!, edge[at]!];
            at = m;
          }
        }
      }
    }
    const hits = [...top, ...edge].sort((a, b) => score[b]! - score[a]! || docs[b]!.time - docs[a]!.time || b - a);
    return hits.slice(opts.offset ?? 0, want).map((d) => {
      const { time: _time, ...stored } = docs[d]!;
      return { ...stored, score: score[d]!, matched: fieldsOf(mask[d]!) };
    });
  }

  /**
   * The index as bytes, to be sealed before it is stored. They are UTF-8 text (JSON with the
   * posting lists as base64 varints), so a store that keeps strings can hold them as they are:
   *   { v: 2, docs: [[entryId, folder, date, subject, from]…], terms: "t1 t2 …",
   *     postings: base64(per term: varint count, then per document varint(gap × 32 + fields)),
   *     unreadable: [[entryId, folder]…] }
   * Documents are renumbered densely in the order they were added.
   */
  serialize(): Uint8Array {
    const renumber = new Int32Array(this.docs.length).fill(-1);
    const docs: [string, string, string, string, string][] = [];
    this.docs.forEach((d, n) => {
      if (!d) return;
      renumber[n] = docs.length;
      docs.push([d.entryId, d.folder, d.date, d.subject, d.from]);
    });
    const out = new VarintWriter();
    const names: string[] = [];
    for (const [t, p] of this.postings) {
      const live = p.filter((x) => renumber[x >>> 5]! >= 0);
      if (!live.length) continue;
      names.push(t);
      out.write(live.length);
      let prev = -1;
      for (const x of live) {
        const n = renumber[x >>> 5]!;
        out.write((n - prev) * 32 + (x & 31));
        prev = n;
      }
    }
    const json = JSON.stringify({ v: FORMAT, docs, terms: names.join(' '), postings: base64(out.bytes()), unreadable: [...this.unreadable] });
    return new TextEncoder().encode(json);
  }

  /** Reads what `serialize` wrote. @throws Error on another format or damaged contents. */
  static deserialize(bytes: Uint8Array): SearchIndex {
    const bad = (why: string) => new Error(`search index: ${why}`);
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as { v?: unknown; docs?: unknown; terms?: unknown; postings?: unknown; unreadable?: unknown };
    if (raw?.v !== FORMAT) throw bad(`unknown format ${String(raw?.v)}`);
    if (!Array.isArray(raw.docs) || typeof raw.terms !== 'string' || typeof raw.postings !== 'string' || !Array.isArray(raw.unreadable)) throw bad('damaged');
    const ix = new SearchIndex();
    for (const d of raw.docs as unknown[]) {
      if (!Array.isArray(d) || d.length !== 5 || !d.every((f) => typeof f === 'string')) throw bad('damaged document');
      const [entryId, folder, date, subject, from] = d as string[];
      ix.byEntry.set(entryId!, ix.docs.length);
      ix.docs.push({ entryId: entryId!, folder: folder!, date: date!, time: Date.parse(date!) || 0, subject: subject!, from: from! });
    }
    const names = raw.terms ? raw.terms.split(' ') : [];
    const input = new VarintReader(unbase64(raw.postings));
    for (const t of names) {
      const count = input.read();
      if (count < 1 || count > ix.docs.length || ix.postings.has(t)) throw bad('damaged postings');
      const p = new Array<number>(count);
      let n = -1;
      for (let i = 0; i < count; i++) {
        const v = input.read();
        const m = v % 32;
        n += (v - m) / 32;
        if (m === 0 || n >= ix.docs.length || v < 32) throw bad('damaged postings');
        p[i] = n * 32 + m;
      }
      ix.postings.set(t, p);
    }
    if (!input.done) throw bad('damaged postings');
    for (const u of raw.unreadable as unknown[]) {
      if (!Array.isArray(u) || typeof u[0] !== 'string' || typeof u[1] !== 'string') throw bad('damaged');
      ix.unreadable.set(u[0], u[1]);
    }
    return ix;
  }
}

/** Unsigned LEB128 varints (values up to 2^53). */
class VarintWriter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;
  write(v: number): void {
    if (this.len + 8 > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    while (v >= 128) {
      this.buf[this.len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

class VarintReader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.at === this.buf.length;
  }
  read(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.at >= this.buf.length) throw new Error('search index: damaged postings');
      const b = this.buf[this.at++]!;
      v += (b & 127) * scale;
      if (b < 128) return v;
      scale *= 128;
    }
    throw new Error('search index: damaged postings');
  }
}

function unbase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A mail as the indexer needs it (a Mailer's list item fits). */
export interface IndexableMail {
  entryId: string;
  entry: { folder: string; sentAt: string; from: string };
  /** The sender as the reader shows it (Mailer's verified `from`/`sender`), never the server's `entry.from`. */
  from: { name: string; address: string };
  subject: string;
  mime: { text: string; to: string[]; cc: string[]; attachments: { filename: string }[] };
}

/** What the indexer needs of a Mailer (kept narrow so it is easy to test and reuse). */
export interface IndexSource {
  list: (
    opts: { folder?: FolderNameLike; cursor?: string | null; limit?: number },
    only: (entry: { id: string; folder: string }) => boolean,
  ) => Promise<{ items: (IndexableMail | { entryId: string; error: string })[]; cursor: string | null; skipped: number }>;
  /** Opens one entry by id: for mail that could not be opened before (e.g. before this device was approved). */
  open?: (entryId: string) => Promise<{ entryId: string; entry: { folder: string; sentAt: string; from: string }; sender: { name: string; address: string }; mime: { subject: string; text: string; to: string[]; cc: string[]; attachments: { filename: string }[] } }>;
  /** How many entries each folder holds on the server (to notice that mail was moved or deleted). */
  folderTotals?: () => Promise<Partial<Record<string, number>>>;
  /** The folder an entry is in now, or null when it is gone. */
  folderOf?: (entryId: string) => Promise<string | null>;
}
type FolderNameLike = 'inbox' | 'drafts' | 'sent' | 'outbox' | 'archive' | 'trash' | 'spam';

const DEFAULT_FOLDERS = ['inbox', 'sent', 'archive', 'drafts', 'spam', 'trash'] as const;
/** Unreadable mails retried per sync while none of them opens (all of them once one does). */
const RETRY_BATCH = 3;

function toDoc(m: IndexableMail): SearchDoc {
  return {
    entryId: m.entryId,
    folder: m.entry.folder,
    date: m.entry.sentAt,
    subject: m.subject,
    // The verified sender: the server's plaintext `entry.from` is its own word (a hostile server
    // could file Mallory's mail as the CEO's, and make it match a search for "ceo").
    from: m.from.address,
    ...(m.from.name ? { fromName: m.from.name } : {}),
    to: m.mime.to,
    cc: m.mime.cc,
    body: m.mime.text,
    attachmentNames: m.mime.attachments.map((a) => a.filename),
  };
}

/**
 * Adds mail the index does not hold yet, folder by folder, newest first; a folder stops at the
 * first page that contains something already known (new mail comes first), so a sync after the
 * first costs one page per folder. Entries already indexed get their folder updated.
 *
 * Mail that cannot be opened is noted and retried a few at a time by id (all of them as soon as
 * one opens: this device was approved and got the older keys). With `folderTotals`, the result
 * says whether the index may hold mail since moved or deleted (`stale`); {@link refreshHits}
 * then checks the hits about to be shown.
 */
export async function syncSearchIndex(
  source: IndexSource,
  index: SearchIndex,
  opts: { folders?: readonly FolderNameLike[]; pageSize?: number; /** Told after each page (a progress indicator). */ onProgress?: (added: number) => void } = {},
): Promise<{ added: number; changed: boolean; stale: boolean }> {
  let added = 0;
  let changed = false;
  const folders = opts.folders ?? DEFAULT_FOLDERS;
  for (const folder of folders) {
    let cursor: string | null = null;
    for (;;) {
      const page: Awaited<ReturnType<IndexSource['list']>> = await source.list({ folder, cursor, limit: opts.pageSize ?? 100 }, (e) => {
        if (!index.has(e.id) && !index.isUnreadable(e.id)) return true;
        if (index.move(e.id, e.folder)) changed = true;
        return false;
      });
      for (const item of page.items) {
        changed = true;
        if ('error' in item) index.markUnreadable(item.entryId, folder);
        else {
          index.add(toDoc(item));
          added++;
        }
      }
      opts.onProgress?.(added);
      if (page.skipped > 0 || !page.cursor) break;
      cursor = page.cursor;
    }
  }
  if (source.open) {
    const pending = index.unreadableEntries();
    for (let i = 0; i < pending.length; ) {
      let opened = 0;
      for (const [entryId, folder] of pending.slice(i, i + RETRY_BATCH)) {
        try {
          const m = await source.open(entryId);
          index.add(toDoc({ entryId, entry: m.entry, from: m.sender, subject: m.mime.subject, mime: m.mime }));
          added++;
          opened++;
          changed = true;
        } catch (err) {
          if ((err as { status?: number }).status === 404) {
            index.remove(entryId);
            changed = true;
          } else {
            index.remove(entryId); // to the back of the queue
            index.markUnreadable(entryId, folder);
          }
        }
      }
      i += RETRY_BATCH;
      if (!opened) break;
    }
  }
  let stale = false;
  if (source.folderTotals) {
    const totals = await source.folderTotals();
    stale = folders.some((f) => totals[f] !== undefined && totals[f] !== index.countIn(f));
  }
  return { added, changed, stale };
}

/**
 * Checks hits against the server before they are shown (after a sync said `stale`): mail since
 * deleted is dropped (and removed from the index), moved mail shows its new folder.
 * @returns the hits still there; `changed` when the index was updated.
 */
export async function refreshHits(source: IndexSource, index: SearchIndex, hits: SearchHit[]): Promise<{ hits: SearchHit[]; changed: boolean }> {
  if (!source.folderOf) return { hits, changed: false };
  const out: SearchHit[] = [];
  let changed = false;
  for (const h of hits) {
    const folder = await source.folderOf(h.entryId);
    if (folder === null) {
      index.remove(h.entryId);
      changed = true;
    } else {
      if (index.move(h.entryId, folder)) changed = true;
      out.push({ ...h, folder });
    }
  }
  return { hits: out, changed };
}
