/**
 * "What the client shows is what it verified", from an adversarial review: a hostile server that
 * calls a pinned colleague missing (to downgrade mail to them); a colleague whose sealed To/Cc
 * differ from the recipients the signed envelope names. Real client code (Identity, Mailer) over the real API on a
 * real Postgres; the hostile server is a stand-in ApiClient that lies on some calls (as in
 * trust.test.ts and keys-batch.test.ts), the hostile colleague an ordinary user with code of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient} from '@sealmail/client';
import { ApiClientError } from '@sealmail/client';
import { buildMime, Identity, Mailer, memoryKeyStore, TrustError } from '@sealmail/client/identity';
import { currentPuk, sealMail, toBase64Url } from '@sealmail/crypto';
import { myLists } from '@sealmail/contract';
import { harness, signedInDevice, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';

async function signedIn(address: string) {
  const store = memoryKeyStore();
  return { store, ...(await signedInDevice(h.app, address, h.password(address), { store, name: `${address.split('@')[0]} device` })) };
}
type Device = Awaited<ReturnType<typeof signedIn>>;

/** The same device (its key store, so its pins) through a server that lies on the calls in `lies`; what it is asked to store is captured, not stored. */
function hostile(d: Device, address: string, lies: Partial<ApiClient>) {
  const posted: Parameters<ApiClient['sendMail']>[0][] = [];
  const api = Object.assign(Object.create(d.api) as ApiClient, {
    sendMail: async (body: Parameters<ApiClient['sendMail']>[0]) => {
      posted.push(body);
      return { entryId: crypto.randomUUID(), messageId: 'x', delivered: [], refused: [] } as unknown as Awaited<ReturnType<ApiClient['sendMail']>>;
    },
    ...lies,
  });
  const identity = new Identity(api, d.store);
  return { api, identity, posted, mail: new Mailer(api, identity, address) };
}

let alice: Device;
let bob: Device;

beforeAll(async () => {
  h = await harness();
  alice = await signedIn(ALICE);
  bob = await signedIn(BOB);
  await signedIn(ADMIN);
  // Alice has written to Bob end to end before: his key history is pinned on her device.
  await alice.mail.send({ to: [BOB], subject: 'pins bob', text: 'hello' });
  expect(await alice.store.loadRecord(`address:${BOB}`)).toMatchObject({ address: BOB });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('a hostile server cannot turn E2EE mail to a pinned colleague into mail it can read', () => {
  it('a pinned colleague the key directory lists as missing gets no expiring link and no standard mail: the send fails as a rollback, nothing is posted', async () => {
    const server = hostile(alice, ALICE, {
      sigchains: async (as: string[]) => {
        const real = await alice.api.sigchains(as.filter((a) => a !== BOB));
        return { chains: real.chains, missing: [...real.missing, BOB] };
      },
    });
    // Without links or standard mail allowed, and with what apps/web/src/mail/Compose.tsx always
    // passes for outside recipients (links): Bob's history is pinned, so a directory that now has
    // no history for him is a rollback, never an outside address.
    const plain = await server.mail.send({ to: [BOB], subject: 'salary review', text: 'confidential' }).catch((e: unknown) => e);
    const linked = await server.mail.send({ to: [BOB], subject: 'salary review', text: 'confidential', links: { expiresIn: '7d' } }).catch((e: unknown) => e);
    const standard = await server.mail.send({ to: [BOB], subject: 'salary review', text: 'confidential', allowStandard: true }).catch((e: unknown) => e);
    for (const r of [plain, linked, standard]) expect(r).toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID', message: expect.stringContaining('The key directory now shows no key history for bob@example.test') });
    expect(server.posted).toEqual([]);
  });

  it('a single key lookup answered 404 for a pinned colleague is a rollback; an address never pinned still goes out as an expiring link', async () => {
    const server = hostile(alice, ALICE, {
      sigchain: async (a: string) => {
        if (a.toLowerCase() === BOB) throw new ApiClientError(404, 'NOT_FOUND', 'no such user');
        return alice.api.sigchain(a);
      },
    });
    const err = await server.identity.verifiedChain(BOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrustError);
    expect(err).toMatchObject({ code: 'ROLLBACK', address: BOB });
    // Nothing pinned for an outside address: missing stays "outside", and the link goes out.
    const outside = 'carol@elsewhere.test';
    expect(await server.identity.verifiedChain(outside).catch((e: unknown) => e)).toMatchObject({ code: 'NOT_FOUND' });
    await server.mail.send({ to: [outside], subject: 'hello', text: 'hi', links: { expiresIn: '7d' } });
    expect(server.posted.flatMap((p) => p.links?.recipients.map((r) => r.address) ?? [])).toEqual([outside]);
  });

  it('nor when the server also names their address as a list of the organisation (which would get a server box with no option set)', async () => {
    const server = hostile(alice, ALICE, {
      sigchains: async (as: string[]) => {
        const real = await alice.api.sigchains(as.filter((a) => a !== BOB));
        return { chains: real.chains, missing: [...real.missing, BOB] };
      },
      request: (async (route: unknown, args: unknown) => (route === myLists ? { lists: [{ address: BOB, name: 'Bob' }] } : (alice.api.request as (r: unknown, a: unknown) => Promise<unknown>)(route, args))) as ApiClient['request'],
    });
    const r = await server.mail.send({ to: [BOB], subject: 'salary review', text: 'confidential' }).catch((e: unknown) => e);
    expect(server.posted.flatMap((p) => p.external ?? [])).not.toContain(BOB);
    expect(r).toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID' });
  });
});

describe('the reader checks To and Cc against the recipients the signed envelope names', () => {
  /** Bob's own client seals a mail to `sealedTo` whose MIME says To: `mimeTo`, and posts it through the honest server (which delivers to `sealedTo`). */
  async function colleagueSends(subject: string, sealedTo: string[], mimeTo: string[]) {
    const me = await bob.identity.thisDevice(BOB);
    const keyOf = async (a: string) => {
      const c = await bob.identity.verifiedChain(a);
      const puk = currentPuk(c.state!);
      return { userId: c.userId, generation: puk.generation, publicKeys: puk.keys };
    };
    const messageId = `${crypto.randomUUID()}@example.test`;
    const mime = buildMime({ from: { name: '', address: BOB }, to: mimeTo, cc: [], subject, text: 'only you read this', date: new Date(), messageId, references: [], attachments: [] });
    const keys = await Promise.all(sealedTo.map(keyOf));
    const self = await keyOf(BOB);
    const sealed = await sealMail({
      messageId,
      sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, chain: { length: me.state.length, head: me.state.headHash } },
      pieces: [{ kind: 'body', plaintext: mime }],
      to: keys,
      senderCopy: self,
    });
    const addressOf = new Map([...keys.map((k, i) => [k.userId, sealedTo[i]!] as const), [self.userId, BOB]]);
    await bob.api.sendMail({ draft: false, envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), body: toBase64Url(sealed.pieces[0]!), attachments: [], to: sealedTo, cc: [], bcc: [], boxes: sealed.boxes.map((b) => ({ address: addressOf.get(b.userId)!, record: toBase64Url(b.record) })) });
    const inbox = await alice.mail.list({ folder: 'inbox' });
    const row = inbox.items.find((i) => 'subject' in i && i.subject === subject)!;
    return alice.mail.open(row.entryId);
  }

  it('a recipient the To line leaves out is named in a warning (Alice has never written to them: the directory is asked once)', async () => {
    const opened = await colleagueSends('just between us', [ALICE, ADMIN], [ALICE]);
    expect(opened.signature).toBe('signed-valid');
    expect(opened.mime.to).toEqual([ALICE]);
    expect(opened.warning).toBe('This mail was also sent to 1 person you have not written to as a visible recipient, though its To and Cc lines do not say so.');
    // Once Alice knows the admin (pinned), the warning names them.
    await alice.identity.verifiedChain(ADMIN);
    const again = await alice.mail.open(opened.entryId);
    expect(again.warning).toBe(`This mail was also sent to ${ADMIN} as a visible recipient, though its To and Cc lines do not say so.`);
  });

  it('a colleague named in To who was never sent the mail is named in a warning; an outside address in To is not', async () => {
    const opened = await colleagueSends('we are all here', [ALICE], [ALICE, ADMIN, 'someone@elsewhere.test']);
    expect(opened.warning).toBe(`Its To and Cc lines name ${ADMIN}, but it was not sent to them: they may never have received it (Reply all would write to them).`);
  });

  it('honest mail (the sender in To too, a colleague in Cc) has no warning, for recipients and in the Sent copy', async () => {
    const sent = await alice.mail.send({ to: [BOB, ALICE], cc: [ADMIN], subject: 'honest', text: 'hello' });
    const inbox = await bob.mail.list({ folder: 'inbox' });
    const row = inbox.items.find((i) => 'subject' in i && i.subject === 'honest')!;
    const opened = await bob.mail.open(row.entryId);
    expect(opened.protection).toBe('E2E Encrypted');
    expect(opened.warning).toBeNull();
    expect((await alice.mail.open(sent.entryId)).warning).toBeNull();
  });
});
