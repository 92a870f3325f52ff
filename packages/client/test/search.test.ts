/**
 * The on-device search index: matching (all terms, prefix on the last, accents and case folded),
 * ranking (subject and sender before body, newest first among equals) and the fields reported,
 * removal and compaction, moving, the serialised form (and refusing damaged or older ones), the
 * incremental sync (new mail, retries of mail that could not be opened, moved and deleted mail),
 * and correctness on 10,000 generated messages. (Speed is measured in bench/search.bench.ts.)
 */
import { describe, expect, it } from 'vitest';
import { refreshHits, SearchIndex, syncSearchIndex, terms, type IndexSource, type SearchDoc } from '../src/mail/search';

const doc = (entryId: string, fields: Partial<SearchDoc>): SearchDoc => ({ entryId, folder: 'inbox', date: '2026-11-01T00:00:00Z', subject: '', from: 'someone@example.test', to: [], cc: [], body: '', attachmentNames: [], ...fields });

describe('terms', () => {
  it('fold case and accents, split on anything but letters and digits', () => {
    expect(terms('Grüße, Ärger & café — Q3-2026!')).toEqual(['grusse', 'arger', 'cafe', 'q3', '2026']);
    expect(terms('Øresund Łódź ÆSIR')).toEqual(['oresund', 'lodz', 'aesir']);
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

  it('ranks subject above body, the sender above recipients; says which fields matched', () => {
    const hits = ix.search('quarterly');
    expect(hits[0]!.entryId).toBe('a');
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    expect(hits.map((h) => h.matched)).toEqual([['subject'], ['body']]);
    expect(ix.search('budget')[0]!.matched).toEqual(['attachments']);
    const people = new SearchIndex();
    people.add(doc('to-carol', { from: 'dave@example.test', to: ['carol@example.test'], date: '2026-11-09T00:00:00Z' }));
    people.add(doc('from-carol', { from: 'carol@example.test', fromName: 'Carol Smith', to: ['dave@example.test'] }));
    expect(people.search('carol').map((h) => [h.entryId, h.matched])).toEqual([
      ['from-carol', ['from']],
      ['to-carol', ['recipients']],
    ]);
    expect(people.search('smith').map((h) => h.entryId)).toEqual(['from-carol']); // display names are searchable
    expect(people.search('smith')[0]!.from).toBe('carol@example.test');
  });

  it('a whole word counts more than a prefix; the prefix may expand to any number of words', () => {
    const j = new SearchIndex();
    j.add(doc('word', { body: 'plan', date: '2026-01-01T00:00:00Z' }));
    j.add(doc('longer', { body: 'planning', date: '2026-12-01T00:00:00Z' }));
    expect(j.search('plan').map((h) => h.entryId)).toEqual(['word', 'longer']);
    // 500 words sharing a prefix, and the one that also has "needle" sorts last among them.
    const k = new SearchIndex();
    for (let i = 0; i < 500; i++) k.add(doc(`p${i}`, { body: `prefix${String(i).padStart(3, '0')} ${i === 499 ? 'needle' : 'hay'}` }));
    expect(k.search('needle prefix').map((h) => h.entryId)).toEqual(['p499']);
    expect(k.search('prefix', { limit: 1000 })).toHaveLength(500);
  });

  it('a short prefix over a big vocabulary reads the whole word and the commonest completions only; the next letter narrows', () => {
    // 3,000 mails with 120 words each, all starting with "k": 360,000 postings behind "k".
    const j = new SearchIndex();
    const K = SearchIndex.MAX_EXPANSIONS;
    for (let i = 0; i < 3000; i++) {
      const words = Array.from({ length: 120 }, (_, w) => `k${String((i * 7 + w) % 400).padStart(3, '0')}`);
      if (i % 10 === 0) words.push('k'); // the whole word, in 300 mails
      if (i < 1500) words.push('kcommon'); // the commonest completion, in half of them
      j.add(doc(`d${i}`, { body: words.join(' '), date: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString() }));
    }
    const hits = j.search('k', { limit: 3000 });
    expect(j.lastSearch.expansions).toBeLessThanOrEqual(K);
    expect(j.lastSearch.lists).toBeLessThanOrEqual(K);
    expect(j.lastSearch.postings).toBeLessThanOrEqual(SearchIndex.PREFIX_POSTINGS + 3000); // of 360,000
    // The whole word ranks first (twice a prefix), newest first; the commonest completion was read.
    expect(hits[0]!.entryId).toBe('d2990');
    expect(hits.filter((h) => h.score === hits[0]!.score)).toHaveLength(300);
    expect(hits.some((h) => h.entryId === 'd1499')).toBe(true);
    // A longer prefix with few completions expands to all of them.
    expect(j.search('k399', { limit: 3000 }).length).toBeGreaterThan(0);
    expect(j.lastSearch.expansions).toBe(1);
    expect(j.search('k39', { limit: 3000 })).toHaveLength(j.search('k39', { limit: 3000, offset: 0 }).length);
    expect(j.lastSearch.expansions).toBe(10);
    // After a rare word, the prefix is probed for its candidates only, and expands to everything.
    j.add(doc('rare', { body: 'needle kzz' }));
    expect(j.search('needle k').map((h) => h.entryId)).toEqual(['rare']);
    expect(j.lastSearch.postings).toBeLessThan(1000);
  });

  it('ranks only what it returns, yet returns what a full sort would; pages with offset', () => {
    const j = new SearchIndex();
    for (let i = 0; i < 2000; i++) {
      j.add(doc(`d${i}`, { subject: i % 3 === 0 ? 'topic' : '', body: `topic ${i % 7 === 0 ? 'topical' : ''}`, date: new Date(Date.UTC(2026, 0, 1) + ((i * 7919) % 2000) * 60_000).toISOString() }));
    }
    const all = j.search('top', { limit: 5000 });
    expect(all).toHaveLength(2000);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.score > all[i]!.score || (all[i - 1]!.score === all[i]!.score && all[i - 1]!.date >= all[i]!.date)).toBe(true);
    expect(j.search('top', { limit: 50 })).toEqual(all.slice(0, 50));
    expect(j.search('top', { limit: 50, offset: 650 })).toEqual(all.slice(650, 700));
    expect(j.search('top', { limit: 50, folder: 'inbox' })).toEqual(all.slice(0, 50));
    // Words added after a search are merged into the sorted vocabulary and found by prefix.
    j.add(doc('late', { subject: 'topiary' }));
    expect(j.search('topia').map((h) => h.entryId)).toEqual(['late']);
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

  it('compacts after many removals without changing results', () => {
    const j = new SearchIndex();
    for (let i = 0; i < 3000; i++) j.add(doc(`d${i}`, { subject: `common unique${i}` }));
    for (let i = 0; i < 2500; i++) j.remove(`d${i}`);
    expect(j.size).toBe(500);
    expect(j.search('common', { limit: 1000 })).toHaveLength(500);
    expect(j.search('unique1')).toEqual([]);
    expect(j.search('unique2999').map((h) => h.entryId)).toEqual(['d2999']);
    // Nothing of the removed mail is kept: as many bytes as an index of the remaining 500 alone
    // (the same contents; only the order of the vocabulary differs).
    const fresh = new SearchIndex();
    for (let i = 2500; i < 3000; i++) fresh.add(doc(`d${i}`, { subject: `common unique${i}` }));
    expect(j.serialize().length).toBe(fresh.serialize().length);
  });

  it('survives serialisation exactly, removals and unreadable notes included; is UTF-8 text', () => {
    const j = SearchIndex.deserialize(ix.serialize());
    j.add(doc('gone', { subject: 'quarterly leftovers' }));
    j.remove('gone');
    j.markUnreadable('locked', 'archive');
    const bytes = j.serialize();
    expect(new TextEncoder().encode(new TextDecoder('utf-8', { fatal: true }).decode(bytes))).toEqual(bytes); // a string store keeps it as is
    const back = SearchIndex.deserialize(bytes);
    for (const q of ['quarterly report', 'quart', 'cafe', 'budget', 'numbers', 'zoe', 'leftovers']) expect(back.search(q)).toEqual(ix.search(q));
    expect(back.size).toBe(3);
    expect(back.unreadableEntries()).toEqual([['locked', 'archive']]);
    back.remove('a');
    expect(back.search('board')).toEqual([]);
    expect(SearchIndex.deserialize(new SearchIndex().serialize()).size).toBe(0);
  });

  it('refuses other formats and damaged contents', () => {
    const te = new TextEncoder();
    expect(() => SearchIndex.deserialize(te.encode('{"v":9}'))).toThrow(/format/);
    expect(() => SearchIndex.deserialize(te.encode('{"v":1,"next":0,"docs":[],"postings":[]}'))).toThrow(/format/); // the first format: rebuilt
    const good = JSON.parse(new TextDecoder().decode(ix.serialize())) as { postings: string; terms: string; docs: unknown[] };
    const variants = [
      { ...good, postings: good.postings.slice(0, -4) },
      { ...good, terms: good.terms + ' extra' },
      { ...good, docs: good.docs.slice(1) },
      { ...good, docs: [[1, 2, 3, 4, 5], ...good.docs.slice(1)] },
    ];
    for (const v of variants) expect(() => SearchIndex.deserialize(te.encode(JSON.stringify(v)))).toThrow(/search index/);
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
  /** A fake mailbox: entries newest first; `locked` ones cannot be opened (yet). */
  function fakeMailbox(entries: { id: string; folder: string; subject: string }[], locked: Set<string>) {
    const opened: string[] = [];
    const item = (e: { id: string; folder: string; subject: string }) => ({ entryId: e.id, entry: { folder: e.folder, sentAt: '2026-11-01T00:00:00Z', from: 'a@example.test' }, from: { name: '', address: 'a@example.test' }, subject: e.subject, mime: { text: 'body', to: [], cc: [], attachments: [] } });
    const source: Required<IndexSource> = {
      async list(opts, only) {
        const all = entries.filter((e) => e.folder === opts.folder);
        const start = opts.cursor ? Number(opts.cursor) : 0;
        const page = all.slice(start, start + (opts.limit ?? 100));
        const wanted = page.filter((e) => only(e));
        opened.push(...wanted.map((e) => e.id));
        return {
          items: wanted.map((e) => (locked.has(e.id) ? { entryId: e.id, error: 'This mail could not be decrypted.' } : item(e))),
          cursor: start + (opts.limit ?? 100) < all.length ? String(start + (opts.limit ?? 100)) : null,
          skipped: page.length - wanted.length,
        };
      },
      async open(id) {
        opened.push(id);
        const e = entries.find((x) => x.id === id);
        if (!e) throw Object.assign(new Error('gone'), { status: 404 });
        if (locked.has(id)) throw new Error('This mail could not be decrypted.');
        const { subject, from, ...rest } = item(e);
        return { ...rest, sender: from, mime: { ...rest.mime, subject } };
      },
      async folderTotals() {
        const t: Record<string, number> = {};
        for (const e of entries) t[e.folder] = (t[e.folder] ?? 0) + 1;
        return t;
      },
      async folderOf(id) {
        return entries.find((x) => x.id === id)?.folder ?? null;
      },
    };
    return { source, opened };
  }

  it('retries mail it could not open, a few at a time until one opens, then all', async () => {
    // A device waiting for approval: it can open new mail (n*) but not older mail (o*).
    const entries = [...Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, folder: 'inbox', subject: `new ${i}` })), ...Array.from({ length: 40 }, (_, i) => ({ id: `o${i}`, folder: 'inbox', subject: `old ${i}` }))];
    const locked = new Set(entries.filter((e) => e.id.startsWith('o')).map((e) => e.id));
    const { source, opened } = fakeMailbox(entries, locked);
    const ix = new SearchIndex();
    expect(await syncSearchIndex(source, ix, { pageSize: 10 })).toMatchObject({ added: 5, stale: false });
    expect(ix.unreadableEntries()).toHaveLength(40);
    opened.length = 0;
    expect(await syncSearchIndex(source, ix, { pageSize: 10 })).toMatchObject({ added: 0, changed: false });
    expect(opened).toHaveLength(3); // one retry batch, nothing re-listed
    locked.clear(); // approved: the older keys arrived
    expect(await syncSearchIndex(source, ix, { pageSize: 10 })).toMatchObject({ added: 40, changed: true });
    expect(ix.unreadableEntries()).toEqual([]);
    expect(ix.search('old').length).toBe(40);
  });

  it('notices moved and deleted mail; refreshHits drops and corrects hits', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => ({ id: `m${i}`, folder: 'inbox', subject: `report ${i}` }));
    const { source } = fakeMailbox(entries, new Set());
    const ix = new SearchIndex();
    await syncSearchIndex(source, ix, { pageSize: 10 });
    entries.splice(entries.findIndex((e) => e.id === 'm20'), 1); // deleted for good
    entries.find((e) => e.id === 'm25')!.folder = 'archive'; // moved, deep in the folder
    const sync = await syncSearchIndex(source, ix, { pageSize: 10 });
    expect(sync.stale).toBe(true);
    const hits = ix.search('report', { limit: 50 });
    expect(hits.map((h) => h.entryId)).toContain('m20');
    const fresh = await refreshHits(source, ix, hits);
    expect(fresh.changed).toBe(true);
    expect(fresh.hits.map((h) => h.entryId)).not.toContain('m20');
    expect(fresh.hits.find((h) => h.entryId === 'm25')!.folder).toBe('archive');
    expect(ix.has('m20')).toBe(false);
    expect((await syncSearchIndex(source, ix, { pageSize: 10 })).stale).toBe(false);
  });

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
          items: wanted.map((e) => ({ entryId: e.id, entry: { folder: e.folder, sentAt: '2026-11-01T00:00:00Z', from: 'a@example.test' }, from: { name: '', address: 'a@example.test' }, subject: e.subject, mime: { text: 'body', to: [], cc: [], attachments: [] } })),
          cursor: start + (opts.limit ?? 100) < mailbox.length && opts.folder === 'inbox' ? String(start + (opts.limit ?? 100)) : null,
          skipped: page.length - wanted.length,
        };
      },
    };
    const ix = new SearchIndex();
    expect(await syncSearchIndex(source, ix)).toEqual({ added: 250, changed: true, stale: false });
    expect(opened).toBe(250);
    mailbox.unshift({ id: 'e250', folder: 'inbox', subject: 'brand new' });
    opened = 0;
    expect(await syncSearchIndex(source, ix)).toEqual({ added: 1, changed: true, stale: false });
    expect(opened).toBe(1); // one page, nothing re-opened
    expect(ix.search('brand').map((h) => h.entryId)).toEqual(['e250']);
  });
});
