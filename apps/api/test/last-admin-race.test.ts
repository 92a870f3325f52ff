/**
 * Admin changes at once. A legal hold placed while the user is deleted either lands first (the
 * delete answers LEGAL_HOLD) or finds no user (404), never 200 for a user then deleted. The last
 * active admin under concurrent changes: two demotions (or a demotion and a
 * suspension) at once were each counted against the same two admins, both answered 200, and the
 * organisation was left with no active admin. keepAnAdmin now locks the account's active admins
 * for its transaction, so the second change sees the first and answers LAST_ADMIN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '@sealmail/server';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let admin: string;

beforeAll(async () => {
  h = await harness();
  const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  // Exactly two active admins: admin@ and second@.
  await h.db.prisma.user.updateMany({ where: { accountId: domain.accountId, role: 'admin', NOT: { localPart: 'admin' } }, data: { role: 'user' } });
  await h.db.prisma.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: 'second', displayName: 'Second', role: 'admin', passwordHash: await hashPassword('pw-second-admin') } });
  admin = (await h.deviceSignIn('admin@example.test')).token;
}, 120_000);
afterAll(() => h?.close());

const activeAdmins = async () => {
  const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  return h.db.prisma.user.count({ where: { accountId: domain.accountId, role: 'admin', status: 'active' } });
};

describe('the last admin under concurrent changes', () => {
  it('two parallel demotions never leave the organisation without an active admin', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      await h.db.prisma.user.updateMany({ where: { localPart: { in: ['admin', 'second'] } }, data: { role: 'admin', status: 'active' } });
      expect(await activeAdmins()).toBe(2);
      const re = await h.app.inject({ method: 'POST', url: '/api/v1/auth/reauth', headers: bearer(admin), payload: { password: h.password('admin@example.test') } });
      expect(re.statusCode, re.body).toBe(200);
      const answers = await Promise.all([
        h.app.inject({ method: 'PATCH', url: '/api/v1/admin/users/second@example.test', headers: bearer(admin), payload: { role: 'user' } }),
        h.app.inject({ method: 'PATCH', url: '/api/v1/admin/users/admin@example.test', headers: bearer(admin), payload: { role: 'user' } }),
      ]);
      // Before the lock: both answered 200 and no active admin was left.
      expect(await activeAdmins(), `attempt ${attempt}`).toBe(1);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
      expect(answers.find((a) => a.statusCode === 409)!.json()).toMatchObject({ error: { code: 'LAST_ADMIN' } });
    }
  });

  it('a demotion and a suspension at once leave one active admin', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      await h.db.prisma.user.updateMany({ where: { localPart: { in: ['admin', 'second'] } }, data: { role: 'admin', status: 'active' } });
      const re = await h.app.inject({ method: 'POST', url: '/api/v1/auth/reauth', headers: bearer(admin), payload: { password: h.password('admin@example.test') } });
      expect(re.statusCode, re.body).toBe(200);
      const answers = await Promise.all([
        h.app.inject({ method: 'POST', url: '/api/v1/admin/users/second@example.test/status', headers: bearer(admin), payload: { status: 'suspended' } }),
        h.app.inject({ method: 'PATCH', url: '/api/v1/admin/users/admin@example.test', headers: bearer(admin), payload: { role: 'user' } }),
      ]);
      expect(await activeAdmins(), `attempt ${attempt}: ${answers.map((a) => `${a.statusCode} ${a.body.slice(0, 80)}`).join(' | ')}`).toBe(1);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    }
  });

  it('a legal hold and a deletion at once: never both answered 200', async () => {
    const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    for (let attempt = 0; attempt < 4; attempt++) {
      await h.db.prisma.user.updateMany({ where: { localPart: { in: ['admin', 'second'] } }, data: { role: 'admin', status: 'active' } });
      const local = `held${attempt}`;
      await h.db.prisma.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: local, displayName: 'Held', role: 'user', passwordHash: await hashPassword('pw-held-user') } });
      const re = await h.app.inject({ method: 'POST', url: '/api/v1/auth/reauth', headers: bearer(admin), payload: { password: h.password('admin@example.test') } });
      expect(re.statusCode, re.body).toBe(200);
      const [hold, del] = await Promise.all([
        h.app.inject({ method: 'PUT', url: `/api/v1/admin/users/${local}@example.test/legal-hold`, headers: bearer(admin), payload: { reason: 'case 42' } }),
        h.app.inject({ method: 'DELETE', url: `/api/v1/admin/users/${local}@example.test`, headers: bearer(admin) }),
      ]);
      const exists = (await h.db.prisma.user.count({ where: { localPart: local } })) === 1;
      const outcome = `${hold.statusCode} ${del.statusCode} ${hold.body.slice(0, 60)} | ${del.body.slice(0, 60)}`;
      if (hold.statusCode === 200) {
        expect(del.json(), outcome).toMatchObject({ error: { code: 'LEGAL_HOLD' } });
        expect(exists).toBe(true);
      } else {
        expect([hold.statusCode, del.statusCode], outcome).toEqual([404, 200]);
        expect(exists).toBe(false);
      }
    }
  });
});
