/**
 * The change history's hash chain on a real Postgres: the documented encoding, tampering found
 * (an edited row, a deleted row, rows cut off the end, two rows swapped), two clients (as two API
 * processes) writing at once without forking the chain, and entries from before the chain
 * existed chained in order by the migration runner.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, recordAudit } from '../src/client';
import { auditEntryHash, GENESIS_HASH, prismaQuery, verifyAuditChain } from '../src/audit-chain';
import { applyMigrations, defaultMigrationsDir } from '../src/migrate';
import { createTestDatabase, type TestDatabase } from '../src/testing';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

async function newAccount(name: string): Promise<string> {
  return (await db.prisma.account.create({ data: { name } })).id;
}
const verify = (accountId: string) => verifyAuditChain(prismaQuery(db.prisma), accountId);
const sql = (text: string, ...params: unknown[]) => db.prisma.$executeRawUnsafe(text, ...params);

describe('appending', () => {
  it('chains each entry to the previous one with the documented v1 encoding', async () => {
    const account = await newAccount('Chain');
    for (let i = 1; i <= 3; i++) await recordAudit(db.prisma, { accountId: account, action: `test.step`, details: { i, note: 'ünïcode', dropped: undefined } });
    const rows = await db.prisma.auditEvent.findMany({ where: { accountId: account }, orderBy: { seq: 'asc' } });
    expect(rows.map((r) => r.seq)).toEqual([1n, 2n, 3n]);
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    expect(rows[1]!.prevHash).toBe(rows[0]!.hash);
    expect(rows[2]!.prevHash).toBe(rows[1]!.hash);
    // The encoding written out by hand, as docs/admin.md states it (RFC 8785: keys sorted).
    const r = rows[1]!;
    const text = `{"account":"${account}","action":"test.step","actor":null,"at":"${r.createdAt.toISOString()}","details":{"i":2,"note":"ünïcode"},"prev":"${rows[0]!.hash}","seq":"2","v":1}`;
    expect(r.hash).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    expect(await verify(account)).toMatchObject({ intact: true, checked: 3, head: { seq: '3', hash: rows[2]!.hash }, firstBroken: null });
  });

  it('keeps one unforked chain when two clients (two API processes) write at once', async () => {
    const account = await newAccount('Busy');
    const a = createDb(db.connectionString, { maxConnections: 4 });
    const b = createDb(db.connectionString, { maxConnections: 4 });
    try {
      await Promise.all([a, b].flatMap((client, c) => Array.from({ length: 15 }, (_, i) => recordAudit(client, { accountId: account, action: 'test.concurrent', details: { client: c, i } }))));
    } finally {
      await a.$disconnect();
      await b.$disconnect();
    }
    const rows = await db.prisma.auditEvent.findMany({ where: { accountId: account }, orderBy: { seq: 'asc' } });
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.prevHash)).size).toBe(30);
    const v = await verify(account);
    expect(v).toMatchObject({ intact: true, checked: 30 });
  }, 60_000);
});

describe('tampering', () => {
  async function chainOf(n: number): Promise<string> {
    const account = await newAccount('Tamper');
    for (let i = 1; i <= n; i++) await recordAudit(db.prisma, { accountId: account, action: 'test.entry', details: { i } });
    return account;
  }

  it('names an edited entry and a deleted one', async () => {
    const account = await chainOf(7);
    await sql(`UPDATE audit_events SET details = '{"i": 333}' WHERE account_id = $1::uuid AND seq = 3`, account);
    await sql(`DELETE FROM audit_events WHERE account_id = $1::uuid AND seq = 5`, account);
    const v = await verify(account);
    expect(v.intact).toBe(false);
    expect(v.firstBroken).toMatchObject({ seq: '3', kind: 'edited' });
    expect(v.problems.map((p) => [p.seq, p.kind])).toEqual([
      ['3', 'edited'],
      ['5', 'missing'],
    ]);
    expect(v.problems[1]!.message).toBe('Entry #5 is missing (deleted).');
  });

  it('sees a changed time and entries cut off the end', async () => {
    const account = await chainOf(5);
    await sql(`UPDATE audit_events SET created_at = created_at + interval '1 second' WHERE account_id = $1::uuid AND seq = 2`, account);
    await sql(`DELETE FROM audit_events WHERE account_id = $1::uuid AND seq >= 4`, account);
    const v = await verify(account);
    expect(v.problems.map((p) => [p.seq, p.kind])).toEqual([
      ['2', 'edited'],
      ['4', 'truncated'],
    ]);
  });

  it('sees two entries swapped, even with their positions swapped too', async () => {
    const account = await chainOf(4);
    // Swap the content of #2 and #3 but keep each row's hashes: the content no longer matches.
    await sql(
      `UPDATE audit_events e SET details = o.details FROM audit_events o
       WHERE e.account_id = $1::uuid AND o.account_id = $1::uuid AND ((e.seq = 2 AND o.seq = 3) OR (e.seq = 3 AND o.seq = 2))`,
      account,
    );
    expect((await verify(account)).firstBroken).toMatchObject({ seq: '2', kind: 'edited' });
  });

  it('sees an entry re-hashed by someone who does not rewrite the rest of the chain', async () => {
    const account = await chainOf(4);
    const row = await db.prisma.auditEvent.findFirstOrThrow({ where: { accountId: account, seq: 2 } });
    const forged = auditEntryHash({ accountId: account, seq: 2n, actor: null, action: 'test.entry', details: { i: 'forged' }, at: row.createdAt, prevHash: row.prevHash! });
    await sql(`UPDATE audit_events SET details = '{"i": "forged"}', hash = $2 WHERE id = $1`, row.id, forged);
    expect((await verify(account)).problems.map((p) => [p.seq, p.kind])).toEqual([['3', 'relinked']]);
  });
});

describe('migration of an existing history', () => {
  it('chains entries written before the chain existed, in the order they were written', async () => {
    const empty = await createTestDatabase({ empty: true });
    const dir = await mkdtemp(join(tmpdir(), 'sealmail-audit-migrations-'));
    try {
      const names = (await readdir(defaultMigrationsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      const before = names.filter((n) => n < names.find((x) => x.endsWith('_audit_chain'))!);
      for (const n of before) await cp(join(defaultMigrationsDir, n), join(dir, n), { recursive: true });
      await applyMigrations(empty.connectionString, { migrationsDir: dir });
      const c = new pg.Client({ connectionString: empty.connectionString });
      await c.connect();
      try {
        const { rows } = await c.query<{ id: string }>(`INSERT INTO accounts (id, name) VALUES (gen_random_uuid(), 'A'), (gen_random_uuid(), 'B') RETURNING id::text`);
        const [a, b] = rows.map((r) => r.id);
        for (const [acc, i] of [
          [a, 1],
          [b, 1],
          [a, 2],
          [a, 3],
          [b, 2],
        ] as const) {
          await c.query(`INSERT INTO audit_events (account_id, action, details) VALUES ($1::uuid, 'old.entry', $2::jsonb)`, [acc, JSON.stringify({ i })]);
        }
        await applyMigrations(empty.connectionString);
        const chained = await c.query<{ account_id: string; seq: string; details: { i: number }; hash: string | null }>(`SELECT account_id::text, seq::text, details, hash FROM audit_events ORDER BY id`);
        expect(chained.rows.map((r) => [r.account_id === a ? 'a' : 'b', r.seq, r.details.i])).toEqual([
          ['a', '1', 1],
          ['b', '1', 1],
          ['a', '2', 2],
          ['a', '3', 3],
          ['b', '2', 2],
        ]);
        expect(chained.rows.every((r) => r.hash !== null)).toBe(true);
        expect(await verifyAuditChain(prismaQuery(empty.prisma), a!)).toMatchObject({ intact: true, checked: 3, head: { seq: '3' } });
        expect(await verifyAuditChain(prismaQuery(empty.prisma), b!)).toMatchObject({ intact: true, checked: 2 });
        // New entries continue the migrated chain.
        await recordAudit(empty.prisma, { accountId: a!, action: 'new.entry' });
        expect(await verifyAuditChain(prismaQuery(empty.prisma), a!)).toMatchObject({ intact: true, checked: 4, head: { seq: '4' } });
      } finally {
        await c.end();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await empty.drop();
    }
  }, 60_000);
});
