/**
 * New-mail events across processes (src/events.ts): an API process's LISTEN connection that is
 * cut (here by pg_terminate_backend, as a Postgres restart or a network cut would) is made
 * again, and events published by another process reach its subscribers once more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { MailEvents, publishMailEvents, type MailEvent } from '../src/events';

let tdb: TestDatabase;
const hub = new MailEvents();
const errors: unknown[] = [];
const USER = '00000000-0000-4000-8000-000000000001';

beforeAll(async () => {
  tdb = await createTestDatabase();
  await hub.listen(tdb.connectionString, (err) => errors.push(err));
});
afterAll(async () => {
  await hub.close();
  await tdb?.drop();
});

/** Publishes (as another process would) until the hub hands an event with this id to its subscriber. */
async function heard(entryId: string, timeoutMs = 20_000): Promise<boolean> {
  const got: MailEvent[] = [];
  const off = hub.subscribe(USER, (e) => got.push(e));
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await publishMailEvents(tdb.prisma, [{ userId: USER, event: { entryId, folder: 'inbox', kind: 'new' } }]);
      await new Promise((r) => setTimeout(r, 200));
      if (got.some((e) => e.entryId === entryId)) return true;
    }
    return false;
  } finally {
    off();
  }
}

describe('the LISTEN connection', () => {
  it('comes back after it is cut, and events flow again', async () => {
    expect(await heard('before')).toBe(true);
    const cut = await tdb.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`;
    expect(Number(cut[0]!.n)).toBe(1);
    await expect.poll(() => hub.listening, { timeout: 10_000 }).toBe(false);
    expect(await heard('after')).toBe(true);
    expect(hub.listening).toBe(true);
    expect(errors.length).toBeGreaterThan(0); // the cut was reported (logged by the API)
  }, 60_000);

  it('stays closed after close()', async () => {
    const other = new MailEvents();
    await other.listen(tdb.connectionString);
    expect(other.listening).toBe(true);
    await other.close();
    await new Promise((r) => setTimeout(r, 1500));
    expect(other.listening).toBe(false);
  });
});
