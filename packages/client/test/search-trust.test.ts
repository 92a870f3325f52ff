/**
 * The on-device search index records and returns the sender the device verified, never the server's plaintext `entry.from` (which a hostile server sets freely), and
 * never a name from a sealed From the device did not verify.
 */
import { describe, expect, it } from 'vitest';
import { SearchIndex, syncSearchIndex, type IndexSource } from '../src/mail/search';

describe('search index: sender', () => {
  it('a hit’s sender is the verified one (Mailer list item `from`), not the server’s entry.from', async () => {
    // Mallory's signed mail, shown by the reader as from mallory@ (verified); the server's
    // metadata says it came from the CEO.
    const source: IndexSource = {
      async list(opts, only) {
        if (opts.folder !== 'inbox' || !only({ id: 'e1', folder: 'inbox' })) return { items: [], cursor: null, skipped: opts.folder === 'inbox' ? 1 : 0 };
        return {
          items: [{ entryId: 'e1', entry: { folder: 'inbox', sentAt: '2026-11-01T00:00:00Z', from: 'ceo@example.test' }, from: { name: '', address: 'mallory@example.test' }, subject: 'Wire transfer', mime: { text: 'approve today', to: [], cc: [], attachments: [] } }],
          cursor: null,
          skipped: 0,
        };
      },
    };
    const ix = new SearchIndex();
    await syncSearchIndex(source, ix, { folders: ['inbox'] });
    const [hit] = ix.search('wire');
    // apps/web/src/mail/Mailbox.tsx shows h.from for every hit it does not reopen (beyond 40, or failing to open).
    expect(hit!.from).toBe('mallory@example.test');
    expect(ix.search('ceo'), 'the server’s sender field is searchable as the sender').toEqual([]);
  });
});
