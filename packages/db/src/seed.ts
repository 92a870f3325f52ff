/**
 * The demo organisation the start command seeds: account "Example Org", one domain, an admin and
 * two users with random passwords (Argon2id-hashed, OWASP parameters). Idempotent: a second run
 * creates nothing. Passwords exist in clear only on first creation; they are written to
 * `credentialsFile` (mode 0600, in the git-ignored data directory) so later starts can reprint them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hashPassword } from '@sealmail/server';
import type { Db } from './client';

export interface SeedResult {
  accountName: string;
  domain: string;
  created: boolean;
  users: { address: string; role: 'admin' | 'user'; displayName: string; password: string | null }[];
}

const DEMO_USERS = [
  { localPart: 'admin', displayName: 'Demo Admin', role: 'admin' },
  { localPart: 'alice', displayName: 'Alice Example', role: 'user' },
  { localPart: 'bob', displayName: 'Bob Example', role: 'user' },
] as const;

function newPassword(): string {
  // 15 random bytes → 20 base64url characters (120 bits).
  return randomBytes(15).toString('base64url');
}

/** Seeds the demo organisation (see file comment). */
export async function seedDemo(db: Db, opts: { domain: string; credentialsFile?: string }): Promise<SeedResult> {
  const domainName = opts.domain.toLowerCase();
  const accountName = 'Example Org';
  let saved: Record<string, string> = {};
  if (opts.credentialsFile && existsSync(opts.credentialsFile)) {
    saved = JSON.parse(await readFile(opts.credentialsFile, 'utf8')) as Record<string, string>;
  }
  const existing = await db.domain.findUnique({ where: { name: domainName } });
  const fresh: Record<string, string> = {};
  await db.$transaction(async (tx) => {
    const domain =
      existing ??
      (await tx.domain.create({
        data: { name: domainName, verifiedAt: new Date(), account: { create: { name: accountName } } },
      }));
    for (const u of DEMO_USERS) {
      const found = await tx.user.findUnique({ where: { domainId_localPart: { domainId: domain.id, localPart: u.localPart } } });
      if (found) continue;
      const password = newPassword();
      fresh[`${u.localPart}@${domainName}`] = password;
      await tx.user.create({
        data: {
          accountId: domain.accountId,
          domainId: domain.id,
          localPart: u.localPart,
          displayName: u.displayName,
          role: u.role,
          passwordHash: await hashPassword(password),
        },
      });
    }
  });
  const created = Object.keys(fresh).length > 0;
  if (created && opts.credentialsFile) {
    saved = { ...saved, ...fresh };
    await mkdir(dirname(opts.credentialsFile), { recursive: true });
    await writeFile(opts.credentialsFile, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
  }
  return {
    accountName,
    domain: domainName,
    created,
    users: DEMO_USERS.map((u) => {
      const address = `${u.localPart}@${domainName}`;
      return { address, role: u.role, displayName: u.displayName, password: fresh[address] ?? saved[address] ?? null };
    }),
  };
}
