import type { FastifyInstance } from 'fastify';
import { seedDemo, type SeedResult } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, defaultAuthSettings, type AuthSettings } from '@sealmail/server';
import { buildApp } from '../src/app';

export interface Harness {
  app: FastifyInstance;
  db: TestDatabase;
  seed: SeedResult;
  clock: { now: Date };
  password(address: string): string;
  signIn(address: string, extra?: Record<string, unknown>): Promise<{ token: string; cookie: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** A real API on a fresh database with the demo organisation, and a clock the test moves. */
export async function harness(auth: Partial<AuthSettings> = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const seed = await seedDemo(db.prisma, { domain: 'example.test' });
  const clock = { now: new Date('2026-11-22T10:00:00.000Z') };
  const app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: db.prisma,
    version: '1.2.3',
    now: () => clock.now,
    auth: { ...defaultAuthSettings, ...auth },
  });
  const password = (address: string) => seed.users.find((u) => u.address === address)!.password!;
  return {
    app,
    db,
    seed,
    clock,
    password,
    async signIn(address, extra = {}) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: password(address), ...extra } });
      if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`);
      const body = res.json() as { token: string } & Record<string, unknown>;
      return { token: body.token, cookie: String(res.headers['set-cookie']).split(';')[0]!, body };
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
