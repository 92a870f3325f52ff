/**
 * The seal pool (src/seal-pool.ts): server-sealed mail sealed in worker threads opens for its
 * recipient exactly as mail sealed on the event loop does, a server box made there opens with the
 * server's mail key, an error the sealing throws comes back to the caller, and the pool survives a
 * worker that dies mid-job (the job is sealed again by a fresh worker). Real worker threads running
 * the real crypto; nothing stood in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePerUserKey, openMail, openServerBox, publicKeysOf, type PerUserKey } from '@sealmail/crypto';
import { ephemeralServerMailKey, MAX_DEATHS, SealPool, type SealJob, type SealResult } from '../src';

const userId = '00000000-0000-4000-8000-000000000001';
let puk: PerUserKey;
let pool: SealPool;

const job = (text: string, extra: Partial<SealJob> = {}): SealJob => ({
  mail: {
    messageId: `${text.length}-${Math.random()}@mx.example.test`,
    sender: { kind: 'external', address: 'carol@sender.example' },
    pieces: [{ kind: 'body', plaintext: new TextEncoder().encode(text) }],
    to: [{ userId, generation: puk.generation, publicKeys: publicKeysOf(puk) }],
    summary: { subject: 's', fromName: 'Carol', fromAddress: 'carol@sender.example', snippet: text.slice(0, 20), attachments: 0, sealedHeaders: [] },
  },
  ...extra,
});

async function opens(j: SealJob, sealed: SealResult): Promise<string> {
  const opened = await openMail({ envelope: sealed.envelope, record: sealed.boxes[0]!.record, manifest: sealed.manifest, pieces: [sealed.pieces[0]!], userId, puk });
  return new TextDecoder().decode(opened.pieces[0]);
}

beforeAll(() => {
  puk = generatePerUserKey(1);
  pool = new SealPool(2);
});
afterAll(async () => {
  await pool?.close();
});

describe('seal pool', () => {
  it('a message sealed in a worker opens for the recipient; the message key does not come back', async () => {
    const j = job('Hello from a worker thread');
    const sealed = await pool.seal(j);
    expect(await opens(j, sealed)).toBe('Hello from a worker thread');
    expect(sealed).not.toHaveProperty('messageKey');
    expect(sealed.summary).toBeInstanceOf(Uint8Array);
    // The caller's plaintext is its own (the worker zeroed its copy, not this one).
    expect(new TextDecoder().decode((j.mail.pieces[0] as { plaintext: Uint8Array }).plaintext)).toBe('Hello from a worker thread');
  }, 60_000);

  it('a server box made in a worker opens with the server mail key', async () => {
    const server = ephemeralServerMailKey();
    const sealed = await pool.seal(job('relayed', { serverPublicKey: server.publicKey }));
    expect(sealed.serverBox).toBeInstanceOf(Uint8Array);
    const { messageKey } = openServerBox({ envelope: sealed.envelope, box: sealed.serverBox!, serverPublicKey: server.publicKey, serverSecretKey: server.secretKey });
    expect(messageKey).toHaveLength(32);
  }, 60_000);

  it("an error the sealing throws is the caller's, and the pool goes on", async () => {
    const bad = job('x');
    (bad.mail.to as unknown[])[0] = { userId, generation: 1, publicKeys: { ...publicKeysOf(puk), encryptionPublicKey: new Uint8Array(5) } };
    await expect(pool.seal(bad)).rejects.toThrow();
    expect(await opens(job('after'), await pool.seal(job('after')))).toBe('after');
  }, 60_000);

  it('survives a worker that dies with jobs in flight: every job is sealed and opens', async () => {
    const before = pool.threadIds;
    const jobs = Array.from({ length: 12 }, (_, i) => job(`message ${i}`));
    const pending = jobs.map((j) => pool.seal(j));
    // Jobs are posted synchronously: the first worker holds some of them when it is ended.
    await pool.terminateWorker(before[0]!);
    const sealed = await Promise.all(pending);
    for (const [i, s] of sealed.entries()) expect(await opens(jobs[i]!, s)).toBe(`message ${i}`);
    expect(pool.stats.restarts).toBeGreaterThanOrEqual(1);
    expect(pool.threadIds).toHaveLength(2);
    expect(pool.threadIds).not.toContain(before[0]);
    expect(await opens(job('later'), await pool.seal(job('later')))).toBe('later');
  }, 90_000);

  it('workers whose code does not load are not restarted forever: the pool then seals in this thread', async () => {
    const deaths: unknown[] = [];
    const broken = new SealPool(2, new URL('./no-such-seal-worker.mjs', import.meta.url), (err) => deaths.push(err));
    try {
      const j = job('sealed without a worker');
      expect(await opens(j, await broken.seal(j))).toBe('sealed without a worker');
      await expect.poll(() => broken.threadIds.length, { timeout: 30_000 }).toBe(0);
      expect(deaths.length).toBeGreaterThan(MAX_DEATHS);
      expect(await opens(job('still'), await broken.seal(job('still')))).toBe('still');
    } finally {
      await broken.close();
    }
  }, 60_000);

  it('a closed pool refuses new jobs', async () => {
    const p = new SealPool(1);
    await p.close();
    await expect(p.seal(job('late'))).rejects.toThrow(/closed/);
  });
});
