/**
 * The first inbox view (issue 19, "Web client at scale"): the browser's key worker starts
 * fetching the keys that open a page's boxes (`Mailer.puks`: the own chain, then the PUK boxes)
 * beside the first page rather than after it. This guards the mechanism that makes that pay:
 * a page opened while that fetch is under way shares it (one PUK-box request, not two), and its
 * rows open with those keys. The API and Postgres are real; the client's fetch is wrapped only
 * to count requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListedMail } from '@sealmail/client/identity';
import { harness, type Harness, signedInDevice } from './helpers';

let h: Harness;
const seen: string[] = [];

async function device(address: string, counted = false) {
  const count = (inner: typeof fetch) => (async (input: string | URL | Request, init?: RequestInit) => (seen.push(new URL(String(input)).pathname), inner(input, init))) as typeof fetch;
  return signedInDevice(h.app, address, h.password(address), counted ? { fetch: count } : {});
}

beforeAll(async () => {
  h = await harness();
}, 120_000);
afterAll(() => h?.close());

describe('the first page', () => {
  it('shares the key fetch started beside it: one PUK-box request, and the rows open', { timeout: 120_000 }, async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test', true);
    for (const n of [1, 2]) await alice.mail.send({ to: ['bob@example.test'], subject: `First view ${n}`, text: `Body ${n}` });
    seen.length = 0;
    // As the key worker does it: the keys, and the page at once.
    const keys = bob.mail.puks();
    const page = await bob.mail.page({ folder: 'inbox', limit: 50 });
    expect((await keys).length).toBeGreaterThan(0);
    const rows = page.items.filter((i): i is ListedMail => !('error' in i));
    expect(rows.map((r) => r.subject).sort()).toEqual(['First view 1', 'First view 2']);
    expect(seen.filter((p) => p.startsWith('/api/v1/keys/puk-boxes/'))).toHaveLength(1);
    // Cached afterwards: the next page asks for no keys.
    seen.length = 0;
    await bob.mail.page({ folder: 'inbox', limit: 50 });
    expect(seen.filter((p) => p.startsWith('/api/v1/keys/puk-boxes/'))).toHaveLength(0);
  });
});
