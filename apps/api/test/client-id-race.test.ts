/**
 * Contacts, labels and custom folders are created with an id the client chooses; the routes look
 * the id up, then insert it. The same create sent at once — a client retrying after a timeout, two
 * devices syncing — made the loser's insert a unique violation, answered 500. The error handler
 * now answers any unique violation 409 CONFLICT (http/errors.ts), as the look-up would have.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let alice: string;
beforeAll(async () => {
  h = await harness();
  alice = (await h.deviceSignIn('alice@example.test')).token;
}, 60_000);
afterAll(() => h?.close());

const box = Buffer.from('x'.repeat(64)).toString('base64url');
const twice = async (url: string, body: () => object) => {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const payload = body();
    const answers = await Promise.all([0, 1, 2].map(() => h.app.inject({ method: 'POST', url, headers: bearer(alice), payload })));
    statuses.push(...answers.map((a) => a.statusCode));
    for (const a of answers) if (a.statusCode !== 200) expect(a.json(), a.body).toMatchObject({ error: { code: 'CONFLICT' } });
  }
  return statuses;
};

describe('the same create with a client-chosen id, sent at once', () => {
  it('contacts: one 200, the others 409 CONFLICT, never 500', async () => {
    const statuses = await twice('/api/v1/contacts', () => ({ id: randomUUID(), box }));
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses, 'a contact create lost the race with a 500').not.toContain(500);
  });
  it('labels: one 200, the others 409 CONFLICT, never 500', async () => {
    const statuses = await twice('/api/v1/mail/labels', () => ({ id: randomUUID(), name: box }));
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses, 'a label create lost the race with a 500').not.toContain(500);
  });
  it('folders: one 200, the others 409 CONFLICT, never 500', async () => {
    const statuses = await twice('/api/v1/mail/folders', () => ({ id: randomUUID(), name: box }));
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses, 'a folder create lost the race with a 500').not.toContain(500);
  });
});
