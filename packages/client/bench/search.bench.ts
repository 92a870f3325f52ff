/**
 * On-device search over 10,000 generated messages: index build time, serialised and sealed size,
 * and query latency (p50/p99) beside a naive scan of the same decrypted texts in the same run
 * (shared, noisy machines: compare ratios).
 *
 *   pnpm --filter @sealmail/client bench
 */
import { openLocalBox, sealLocalBox } from '@sealmail/crypto';
import { SearchIndex, type SearchDoc } from '../src/mail/search';

const N = 10_000;
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
let t = performance.now();
const ix = new SearchIndex();
for (const d of docs) ix.add(d);
const buildMs = performance.now() - t;
t = performance.now();
const bytes = ix.serialize();
const secret = new Uint8Array(32).fill(1);
const sealed = sealLocalBox({ secret, purpose: 'search-index', plaintext: bytes });
const sealMs = performance.now() - t;
t = performance.now();
SearchIndex.deserialize(openLocalBox({ secret, purpose: 'search-index', record: sealed }));
const loadMs = performance.now() - t;

const queries = Array.from({ length: 500 }, () => (rnd() < 0.5 ? `${zipf()} ${zipf()}` : `${zipf()} ${zipf().slice(0, 3)}`));
const indexed: number[] = [];
const naive: number[] = [];
for (const query of queries) {
  let s = performance.now();
  ix.search(query, { limit: 50 });
  indexed.push(performance.now() - s);
  s = performance.now();
  const parts = query.toLowerCase().split(' ');
  docs.filter((d) => parts.every((p) => (d.subject + ' ' + d.body).toLowerCase().includes(p))).slice(0, 50);
  naive.push(performance.now() - s);
}
console.log(`\nOn-device search, ${N.toLocaleString('en')} messages (≈${Math.round(docs[0]!.body.length / 100) / 10} KB of text each), Node ${process.version}\n`);
console.log(`index build ${buildMs.toFixed(0)} ms; serialised ${(bytes.length / 1048576).toFixed(1)} MiB, sealed + written form ${(sealed.length / 1048576).toFixed(1)} MiB in ${sealMs.toFixed(0)} ms; opened + loaded in ${loadMs.toFixed(0)} ms`);
console.log('query latency (500 queries: two terms, or a term and a prefix)'.padEnd(64) + '  p50 ms  p99 ms');
console.log('  index'.padEnd(64) + q(indexed, 0.5).toFixed(2).padStart(8) + q(indexed, 0.99).toFixed(2).padStart(8));
console.log('  naive scan of the decrypted texts (reference)'.padEnd(64) + q(naive, 0.5).toFixed(2).padStart(8) + q(naive, 0.99).toFixed(2).padStart(8));
