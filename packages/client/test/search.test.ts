/**
 * The on-device search index: matching (all terms, prefix on the last, accents and case folded),
 * ranking (subject and people before body, newest first among equals), removal, moving, the
 * serialised form, the incremental sync, and correctness on 10,000 generated messages.
 * (Speed is measured in bench/search.bench.ts, not here.)
 */
import { describe, expect, it } from 'vitest';
import { SearchIndex, syncSearchIndex, terms, type IndexSource, type SearchDoc } from '../src/mail/search';

const doc = (entryId: string, fields: Partial<SearchDoc>): SearchDoc => ({ entryId, folder: 'inbox', date: '2026-11-01T00:00:00Z', subject: '', from: 'someone@example.test', to: [], cc: [], body: '', attachmentNames: [], ...fields });

describe('terms', () => {
  it('fold case and accents, split on anything but letters and digits', () => {
    expect(terms('Grüße, Ärger & café — Q3-2026!')).toEqual(['gruße', 'arger', 'cafe', 'q3', '2026']);
    expect(terms('  ')).toEqual([]);
  });
});

describe('SearchIndex', () => {
  const ix = new SearchIndex();
  ix.add(doc('a', { subject: 'Quarterly report', body: 'numbers for the board', date: '2026-11-02T00:00:00Z' }));
  ix.add(doc('b', { subject: 'Lunch', body: 'the quarterly numbers are in the report attached', date: '2026-11-03T00:00:00Z' }));
  ix.add(doc('c', { subject: 'Café Ärger', from: 'zoë@example.test', attachmentNames: ['Budget-2027.xlsx'] }));

  it('matches every term, the last as a prefix, across fields', () => {
    expect(ix.search('quarterly report').map((h) => h.entryId)).toEqual(['a', 'b']);
    expect(ix.search('quart').map((h) => h.entryId)).toEqual(['a', 'b']);
    expect(ix.search('report board').map((h) => h.entryId)).toEqual(['a']);
    expect(ix.search('lunch board')).toEqual([]);
    expect(ix.search('')).toEqual([]);
  });

  it('folds accents and case in queries and documents', () => {
    expect(ix.search('CAFE arger').map((h) => h.entryId)).toEqual(['c']);
    expect(ix.search('Zoë').map((h) => h.entryId)).toEqual(['c']);
    expect(ix.search('budget 2027').map((h) => h.entryId)).toEqual(['c']);
  });

  it('ranks subject above body', () => {
    const hits = ix.search('quarterly');
    expect(hits[0]!.entryId).toBe('a');
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('removes and moves documents; filters by folder', () => {
    const j = new SearchIndex();
    j.add(doc('x', { subject: 'alpha beta' }));
    j.add(doc('y', { subject: 'alpha gamma' }));
    j.remove('x');
    expect(j.search('alpha').map((h) => h.entryId)).toEqual(['y']);
    expect(j.search('beta')).toEqual([]);
    j.move('y', 'archive');
    expect(j.search('alpha', { folder: 'inbox' })).toEqual([]);
    expect(j.search('alpha', { folder: 'archive' }).map((h) => h.entryId)).toEqual(['y']);
    j.add(doc('y', { subject: 'delta' })); // replaced, not duplicated
    expect(j.size).toBe(1);
    expect(j.search('alpha')).toEqual([]);
  });

  it('survives serialisation exactly, removals included', () => {
    const back = SearchIndex.deserialize(ix.serialize());
    for (const q of ['quarterly report', 'quart', 'cafe', 'budget', 'numbers']) expect(back.search(q)).toEqual(ix.search(q));
    back.remove('a');
    expect(back.search('board')).toEqual([]);
    expect(() => SearchIndex.deserialize(new TextEncoder().encode('{"v":9}'))).toThrow(/format/);
  });
});

describe('10,000 generated messages', () => {
  // Deterministic vocabulary: message i mentions project-(i % 97), city-(i % 13) and its own tag.
  const words = ['invoice', 'meeting', 'contract', 'holiday', 'budget', 'review', 'launch', 'hiring'];
  const N = 10_000;
  const ix = new SearchIndex();
  for (let i = 0; i < N; i++) {
    ix.add(
      doc(`m${i}`, {
        subject: `${words[i % words.length]} project${i % 97}`,
        body: `Hello, notes about city${i % 13} and tag${i}. ${'filler text '.repeat(20)}`,
        from: `user${i % 50}@example.test`,
        date: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      }),
    );
  }

  it('finds exactly the messages that contain every term', () => {
    const expected = [];
    for (let i = 0; i < N; i++) if (i % 97 === 5 && i % 13 === 7) expected.push(`m${i}`);
    const got = ix.search('project5 city7', { limit: N }).map((h) => h.entryId);
    expect(new Set(got)).toEqual(new Set(expected));
    expect(ix.search('tag1234', { limit: 5 }).map((h) => h.entryId)).toEqual(['m1234']);
    // Same score: newest first.
    const budget = ix.search('budget', { limit: 3 });
    expect(budget.map((h) => h.entryId)).toEqual(['m9996', 'm9988', 'm9980']);
    expect(ix.search('user49', { limit: N })).toHaveLength(N / 50);
  });
});

describe('syncSearchIndex', () => {
  it('adds what is new, stops at what it has, and follows moves', async () => {
    const mailbox = Array.from({ length: 250 }, (_, i) => ({ id: `e${249 - i}`, folder: 'inbox', subject: `subject ${249 - i}` }));
    let opened = 0;
    const source: IndexSource = {
      async list(opts, only) {
        const start = opts.cursor ? Number(opts.cursor) : 0;
        const page = opts.folder === 'inbox' ? mailbox.slice(start, start + (opts.limit ?? 100)) : [];
        const wanted = page.filter((e) => only(e));
        opened += wanted.length;
        return {
          items: wanted.map((e) => ({ entryId: e.id, entry: { folder: e.folder, sentAt: '2026-11-01T00:00:00Z', from: 'a@example.test' }, subject: e.subject, mime: { text: 'body', to: [], cc: [], attachments: [] } })),
          cursor: start + (opts.limit ?? 100) < mailbox.length && opts.folder === 'inbox' ? String(start + (opts.limit ?? 100)) : null,
          skipped: page.length - wanted.length,
        };
      },
    };
    const ix = new SearchIndex();
    expect(await syncSearchIndex(source, ix)).toEqual({ added: 250 });
    expect(opened).toBe(250);
    mailbox.unshift({ id: 'e250', folder: 'inbox', subject: 'brand new' });
    opened = 0;
    expect(await syncSearchIndex(source, ix)).toEqual({ added: 1 });
    expect(opened).toBe(1); // one page, nothing re-opened
    expect(ix.search('brand').map((h) => h.entryId)).toEqual(['e250']);
  });
});
