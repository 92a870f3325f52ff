/**
 * The TOTP second factor as stored: the secret sealed at rest (./secret-box.ts), replay refusal
 * by the last accepted step, and ten one-time recovery codes kept as SHA-256 hashes.
 */
import { createHash } from 'node:crypto';
import { Secret } from 'otpauth';
import type { Db, User } from '@sealmail/db';
import { SecretBox } from './secret-box';
import { matchTotp } from './totp';

export const RECOVERY_CODE_COUNT = 10;
const PURPOSE = 'totp';

/** Seals a TOTP secret for a user. */
export const sealTotpSecret = (box: SecretBox, userId: string, secret: string) => box.seal(PURPOSE, userId, secret);

/**
 * The clear secret of a stored value: sealed (the normal case) or, from before secrets were
 * sealed, clear base32 (sealed at start by sealLegacyTotpSecrets). Null when it does not open.
 */
export function openTotpSecret(box: SecretBox, userId: string, stored: string): string | null {
  if (SecretBox.isSealed(stored)) return box.open(PURPOSE, userId, stored);
  return /^[A-Z2-7]+=*$/.test(stored) ? stored : null;
}

/** Seals every TOTP secret still stored in clear (databases from before sealing). */
export async function sealLegacyTotpSecrets(db: Db, box: SecretBox): Promise<number> {
  const rows = await db.$queryRaw<{ id: string; totp_secret: string | null; totp_pending: string | null }[]>`
    SELECT id, totp_secret, totp_pending FROM users
    WHERE (totp_secret IS NOT NULL AND totp_secret NOT LIKE 'v1.%') OR (totp_pending IS NOT NULL AND totp_pending NOT LIKE 'v1.%')`;
  for (const r of rows) {
    const seal = (v: string | null) => (v === null || v.startsWith('v1.') ? v : sealTotpSecret(box, r.id, v));
    await db.user.update({ where: { id: r.id }, data: { totpSecret: seal(r.totp_secret), totpPending: seal(r.totp_pending) } });
  }
  return rows.length;
}

export type SecondFactorResult = 'ok' | 'missing' | 'invalid';

/**
 * Checks the second factor of a user who has TOTP: a code from the app (never the same step
 * twice: of two requests with one code only one wins) or an unused recovery code (used up).
 */
export async function checkSecondFactor(db: Db, box: SecretBox, user: Pick<User, 'id' | 'totpSecret' | 'totpLastStep'>, given: { totp?: string | undefined; recoveryCode?: string | undefined }, now: Date): Promise<SecondFactorResult> {
  if (!user.totpSecret) return 'ok';
  if (given.recoveryCode) return (await useRecoveryCode(db, user.id, given.recoveryCode, now)) ? 'ok' : 'invalid';
  if (!given.totp) return 'missing';
  const secret = openTotpSecret(box, user.id, user.totpSecret);
  const step = secret ? matchTotp(secret, given.totp, now, user.totpLastStep) : null;
  if (step === null) return 'invalid';
  const won = await db.user.updateMany({
    where: { id: user.id, OR: [{ totpLastStep: null }, { totpLastStep: { lt: step } }] },
    data: { totpLastStep: step },
  });
  return won.count === 1 ? 'ok' : 'invalid';
}

const normalise = (code: string) => code.toUpperCase().replace(/[^A-Z2-7]/g, '');
const hashCode = (code: string) => new Uint8Array(createHash('sha256').update(`sealmail-recovery-code:${normalise(code)}`).digest());

/** Ten new codes (80 random bits each, shown as ABCD-EFGH-JKLM-NPQR); the old ones stop working. */
export async function newRecoveryCodes(db: Pick<Db, 'totpRecoveryCode'>, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => new Secret({ size: 10 }).base32.match(/.{4}/g)!.join('-'));
  await db.totpRecoveryCode.deleteMany({ where: { userId } });
  await db.totpRecoveryCode.createMany({ data: codes.map((c) => ({ userId, codeHash: hashCode(c) })) });
  return codes;
}

/** Uses a recovery code up; false when it is unknown or was used. */
export async function useRecoveryCode(db: Db, userId: string, code: string, now: Date): Promise<boolean> {
  const r = await db.totpRecoveryCode.updateMany({ where: { userId, codeHash: hashCode(code), usedAt: null }, data: { usedAt: now } });
  return r.count === 1;
}
