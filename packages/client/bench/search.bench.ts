/**
 * On-device search over generated messages (10,000, then 100,000 — issue 19's mailbox size):
 * index build time and the index's memory (heap as built and as loaded, when run with --expose-gc),
 * serialised and sealed size, load time, and query latency (p50/p99) by kind of query, with the
 * posting lists and postings the worst query of each kind touched, beside a naive scan of the same decrypted texts in
 * the same run (shared, noisy machines: compare ratios). The naive scan gets fewer queries at
 * 100,000 (each reads 150 MB of text).
 *
 *   pnpm --filter @sealmail/client bench            (both sizes)
 *   tsx --expose-gc bench/search.bench.ts 100000      (one size)
 */
import { openLocalBox, sealLocalBox } from '@sealmail/crypto';
import { SearchIndex, type SearchDoc } from '../src/mail/search';

const N = Number(process.argv[2] ?? 10_000);
const NAIVE_QUERIES = N > 20_000 ? 20 : 300;
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
// A vocabulary of 5,000 made-up words drawn with a Zipf-like skew, as natural language is.
const syllables = ['ka', 'lo', 'mi', 're', 'tu', 'san', 'ver', 'bel', 'dor', 'fi', 'gan', 'hul', 'jor', 'mek', 'nor', 'pli', 'qua', 'ros', 'tem', 'vix'];
const words = Array.from({ length: 5000 }, () => Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(syllables)).join(''));
const zipf = () => words[Math.min(words.length - 1, Math.floor(words.length * rnd() ** 3))]!;
const sentence = (n: number) => Array.from({ length: n }, zipf).join(' ');
const docs: SearchDoc[] = Array.from({ length: N }, (_, i) => ({
  entryId: `m${i}`,
  folder: 'inbox',
  date: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  subject: sentence(5),
  from: `user${i % 200}@example.test`,
  to: ['me@example.test'],
  cc: [],
  body: sentence(250),
  attachmentNames: rnd() < 0.2 ? [`${zipf()}.pdf`] : [],
}));

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let t = performance.now();
const ix = new SearchIndex();
for (const d of docs) ix.add(d);
const buildMs = performance.now() - t;
globalThis.gc?.();
const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 1048576;
t = performance.now();
const bytes = ix.serialize();
const serializeMs = performance.now() - t;
const secret = new Uint8Array(32).fill(1);
t = performance.now();
const sealed = sealLocalBox({ secret, purpose: 'search-index', plaintext: bytes });
const sealMs = performance.now() - t;
globalThis.gc?.();
const heap = process.memoryUsage().heapUsed;
t = performance.now();
const loaded = SearchIndex.deserialize(openLocalBox({ secret, purpose: 'search-index', record: sealed }));
const loadMs = performance.now() - t;
globalThis.gc?.();
const loadedMiB = (process.memoryUsage().heapUsed - heap) / 1048576;
const vocabulary = new Set(bytes.length ? (JSON.parse(new TextDecoder().decode(bytes)) as { terms: string }).terms.split(' ') : []).size;

// Query kinds: what people type. The one-letter case is the worst (the prefix expands to
// hundreds of words and matches most mail).
const kinds: [string, () => string][] = [
  ['two words', () => `${zipf()} ${zipf()}`],
  ['a word and a 3-letter prefix', () => `${zipf()} ${zipf().slice(0, 3)}`],
  ['three words', () => `${zipf()} ${zipf()} ${zipf()}`],
  ['two letters', () => pick(syllables).slice(0, 2)],
  ['one letter (first key typed)', () => pick(syllables).slice(0, 1)],
];
console.log(`\nOn-device search, ${N.toLocaleString('en')} messages (≈${Math.round(docs[0]!.body.length / 100) / 10} KB of text each), Node ${process.version}\n`);
console.log(`index memory (${loaded.size.toLocaleString('en')} loaded): ${globalThis.gc ? `≈${heapMiB.toFixed(0)} MiB of heap as built, ≈${loadedMiB.toFixed(0)} MiB as loaded from its sealed bytes` : '(run with --expose-gc to measure)'}; ${ix.size.toLocaleString('en')} mails, ${vocabulary.toLocaleString('en')} terms`);
console.log(`index build ${buildMs.toFixed(0)} ms; serialised ${(bytes.length / 1048576).toFixed(1)} MiB in ${serializeMs.toFixed(0)} ms, sealed (${(sealed.length / 1048576).toFixed(1)} MiB) in ${sealMs.toFixed(0)} ms; opened + loaded in ${loadMs.toFixed(0)} ms`);
console.log(`query latency, 300 queries of each kind (naive: ${NAIVE_QUERIES}), 50 hits`.padEnd(56) + 'index p50    p99 ms   naive scan p50    p99 ms   lists read (max)   postings visited (max)');
for (const [name, make] of kinds) {
  const indexed: number[] = [];
  const naive: number[] = [];
  let lists = 0;
  let postings = 0;
  for (let i = 0; i < 300; i++) {
    const query = make();
    let s = performance.now();
    ix.search(query, { limit: 50 });
    indexed.push(performance.now() - s);
    lists = Math.max(lists, ix.lastSearch.lists);
    postings = Math.max(postings, ix.lastSearch.postings);
    if (i >= NAIVE_QUERIES) continue;
    s = performance.now();
    const parts = query.toLowerCase().split(' ');
    docs.filter((d) => parts.every((p) => (d.subject + ' ' + d.body).toLowerCase().includes(p))).slice(0, 50);
    naive.push(performance.now() - s);
  }
  console.log(`  ${name}`.padEnd(56) + q(indexed, 0.5).toFixed(2).padStart(9) + q(indexed, 0.99).toFixed(2).padStart(10) + q(naive, 0.5).toFixed(2).padStart(20) + q(naive, 0.99).toFixed(2).padStart(10) + String(lists).padStart(19) + postings.toLocaleString('en').padStart(25));
}
