/**
 * `Identity.verifiedChain` shares a verification under way (issue 19, "first inbox view": the key
 * set-up, the folders, the labels, the keys and the rows each asked for the user's own chain at
 * once, and each fetched and verified it on its own). Guarded here: callers at the same time get
 * one fetch; a caller that comes after this client appended a link is never handed an answer
 * fetched before that link. The API and Postgres are real; the client's API is wrapped only to
 * count and hold back chain requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Identity, memoryKeyStore, type KeyStore } from '@sealmail/client/identity';
import { harness, injectFetch, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';

async function signedIn(address: string, store: KeyStore = memoryKeyStore()) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: h.password(address) } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, store);
  const setup = await identity.setUpThisDevice({ address, name: 'Laptop', kind: 'cli' });
  return { api, identity, store, setup };
}

/** A promise and the function that settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

let alice: Awaited<ReturnType<typeof signedIn>>;

beforeAll(async () => {
  h = await harness();
  alice = await signedIn(ALICE);
}, 120_000);
afterAll(() => h?.close());

describe('verifying a chain', () => {
  it('callers at the same time share one fetch and one verification', { timeout: 120_000 }, async () => {
    let fetched = 0;
    const api = Object.assign(Object.create(alice.api) as ApiClient, {
      sigchain: (address: string) => (fetched++, alice.api.sigchain(address)),
    });
    const identity = new Identity(api, alice.store);
    const chains = await Promise.all([1, 2, 3, 4, 5, 6].map(() => identity.verifiedChain(ALICE)));
    expect(fetched).toBe(1);
    expect(new Set(chains.map((c) => c.state!.length)).size).toBe(1);
    // Once settled, the next caller fetches again (nothing is kept beyond the request).
    await identity.verifiedChain(ALICE);
    expect(fetched).toBe(2);
  });

  it('a caller after a link this client appended is not handed an answer fetched before it', { timeout: 120_000 }, async () => {
    const phone = await signedIn(ALICE);
    expect(phone.setup.outcome).toBe('pending');
    const appending = gate();
    const append = gate();
    const answered = gate();
    const heldBack = gate();
    let holdNextFetch = false;
    const api = Object.assign(Object.create(alice.api) as ApiClient, {
      // The approval's link is held back until a verification has fetched the chain without it.
      appendLink: async (...args: Parameters<ApiClient['appendLink']>) => {
        appending.open();
        await append.opened;
        return alice.api.appendLink(...args);
      },
      // That verification's answer (fetched before the link) is held back until after the append.
      sigchain: async (address: string) => {
        const hold = holdNextFetch;
        holdNextFetch = false;
        const answer = await alice.api.sigchain(address);
        if (hold) {
          heldBack.open();
          await answered.opened;
        }
        return answer;
      },
    });
    const identity = new Identity(api, alice.store);
    const before = (await identity.verifiedChain(ALICE)).state!.length;
    const approval = identity.approve(ALICE, phone.setup.device.deviceId);
    await appending.opened;
    holdNextFetch = true;
    const stale = identity.verifiedChain(ALICE).catch((e: unknown) => e);
    await heldBack.opened; // its fetch is answered, without the new link, and held
    append.open();
    await approval;
    const after = await identity.verifiedChain(ALICE);
    expect(after.state!.length).toBe(before + 1);
    expect(after.state!.devices.get(phone.setup.device.deviceId)?.status).toBe('approved');
    answered.open();
    // The answer fetched before the link is older than what is pinned now: refused, as any rollback.
    expect(await stale).toMatchObject({ code: 'ROLLBACK' });
  });
});
