import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyPassword as verify } from '@sealmail/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUserByAddress, listDomains } from '../src/client';
import { seedDemo } from '../src/seed';
import { createTestDatabase, type TestDatabase } from '../src/testing';

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'sealmail-seed-'));
});
afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('demo seed', () => {
  it('creates the organisation, an admin and two users with Argon2id passwords, once', async () => {
    const credentialsFile = join(dir, 'creds.json');
    const first = await seedDemo(db.prisma, { domain: 'Example.TEST', credentialsFile });
    expect(first.created).toBe(true);
    expect(first.domain).toBe('example.test');
    expect(first.users.map((u) => [u.address, u.role])).toEqual([
      ['admin@example.test', 'admin'],
      ['alice@example.test', 'user'],
      ['bob@example.test', 'user'],
    ]);
    for (const u of first.users) {
      expect(u.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      const row = await findUserByAddress(db.prisma, u.address);
      expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await verify(row!.passwordHash, u.password!)).toBe(true);
      expect(await verify(row!.passwordHash, u.password! + 'x')).toBe(false);
    }
    expect((await stat(credentialsFile)).mode & 0o077).toBe(0);

    const second = await seedDemo(db.prisma, { domain: 'example.test', credentialsFile });
    expect(second.created).toBe(false);
    expect(second.users.map((u) => u.password)).toEqual(first.users.map((u) => u.password));
    expect(await db.prisma.user.count()).toBe(3);
    expect((await listDomains(db.prisma)).map((d) => d.name)).toEqual(['example.test']);
    expect(JSON.parse(await readFile(credentialsFile, 'utf8'))).toEqual(Object.fromEntries(first.users.map((u) => [u.address, u.password])));
  });

  it('adds a missing demo user without touching the others', async () => {
    await db.prisma.user.deleteMany({ where: { localPart: 'bob' } });
    const r = await seedDemo(db.prisma, { domain: 'example.test' });
    expect(r.created).toBe(true);
    expect(r.users.find((u) => u.address === 'bob@example.test')!.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(r.users.find((u) => u.address === 'alice@example.test')!.password).toBeNull();
    expect(await db.prisma.user.count()).toBe(3);
  });
});
