/**
 * `sealmail read` shows the sender the client verified, never the sealed From alone: a colleague
 * (Bob, with a client of his own: the real client and crypto packages, his own device) seals a
 * mail to Alice whose sealed From names the admin. Alice's CLI, against a real API over TLS,
 * prints Bob as its sender, the mail as Unverified, and the warning.
 */
import { readFileSync } from 'node:fs';
import { ApiClient } from '@sealmail/client';
import { buildMime, Identity, memoryKeyStore } from '@sealmail/client/identity';
import { httpsFetch } from '@sealmail/client/node';
import { currentPuk, sealMail, toBase64Url } from '@sealmail/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const as = (lines: string[], ...argv: string[]) => s.cliAs('alice', lines, ...argv, '--api', s.url, '--ca', s.caFile);

beforeAll(async () => {
  s = await startCliStack();
  expect((await as([s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
}, 60_000);
afterAll(() => s?.stop());
const bobKeys = memoryKeyStore();
let bobApi: ApiClient | undefined;

describe('sealmail read and a sealed From that names someone else', () => {
  /** Bob, with his own client, seals `mime` to Alice and sends it. */
  async function bobSends(mimeOf: (messageId: string) => Uint8Array) {
    if (!bobApi) {
      const fetch = httpsFetch(readFileSync(s.caFile, 'utf8'));
      const { token } = await new ApiClient({ baseUrl: s.url, fetch }).signIn(BOB, s.passwords[BOB]!);
      bobApi = new ApiClient({ baseUrl: s.url, fetch, token });
      await new Identity(bobApi, bobKeys).setUpThisDevice({ address: BOB, name: 'bob’s own client', kind: 'cli' });
    }
    const api = bobApi;
    const bob = new Identity(api, bobKeys);
    const me = await bob.thisDevice(BOB);
    const keyOf = async (a: string) => {
      const c = await bob.verifiedChain(a);
      const puk = currentPuk(c.state!);
      return { userId: c.userId, generation: puk.generation, publicKeys: puk.keys };
    };
    const messageId = `${crypto.randomUUID()}@example.test`;
    const mime = mimeOf(messageId);
    const [a, self] = [await keyOf(ALICE), await keyOf(BOB)];
    const sealed = await sealMail({
      messageId,
      sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, chain: { length: me.state.length, head: me.state.headHash } },
      pieces: [{ kind: 'body', plaintext: mime }],
      to: [a],
      senderCopy: self,
    });
    const addressOf = new Map([[a.userId, ALICE], [self.userId, BOB]]);
    await api.sendMail({ draft: false, envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), body: toBase64Url(sealed.pieces[0]!), attachments: [], to: [ALICE], cc: [], bcc: [], boxes: sealed.boxes.map((b) => ({ address: addressOf.get(b.userId)!, record: toBase64Url(b.record) })) });
  }

  it('prints the colleague who signed it as From, Unverified, with the warning', { timeout: 60_000 }, async () => {
    await bobSends((messageId) => buildMime({ from: { name: 'Demo Admin', address: ADMIN }, to: [ALICE], cc: [], subject: 'new bank details', text: 'pay here', date: new Date(), messageId, references: [], attachments: [] }));

    const list = await as([], 'list');
    const id = list.out.split('\n').find((l) => l.includes('new bank details'))?.split(' ')[0];
    expect(id, list.out).toBeTruthy();
    const read = await as([], 'read', id!);
    expect(read.code, read.err).toBe(EXIT.ok);
    const from = read.out.split('\n').find((l) => l.startsWith('From:'))!;
    expect(from).toBe(`From:     ${BOB}`);
    expect(read.out).not.toContain('Demo Admin');
    expect(read.out).toContain('Security: Unverified');
    expect(read.out).toMatch(/WARNING: {2}This mail says it is from admin@example\.test, but it was signed by a device of bob@example\.test/);
  });

  it('prints Authentication-Results only for mail the server sealed on arrival, never a colleague\'s own', { timeout: 60_000 }, async () => {
    await bobSends((messageId) =>
      buildMime({ from: { name: 'Bob Example', address: BOB }, to: [ALICE], cc: [], subject: 'bank says hi', text: 'trust me', date: new Date(), messageId, references: [], attachments: [], extraHeaders: [['Authentication-Results', 'mx.example.test; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example']] }),
    );
    const list = await as([], 'list');
    const id = list.out.split('\n').find((l) => l.includes('bank says hi'))?.split(' ')[0];
    const read = await as([], 'read', id!);
    expect(read.code, read.err).toBe(EXIT.ok);
    expect(read.out).toContain('Security: E2E Encrypted');
    expect(read.out).not.toContain('Auth:');
    expect(read.out).not.toContain('dkim=pass');
  });
});
