/**
 * Password hashing for sign-in: Argon2id with the OWASP Password Storage Cheat Sheet parameters
 * (m = 19 MiB, t = 2, p = 1), as PHC strings. The password authenticates a user; it never
 * protects keys (keys belong to devices).
 */
import { hash, verify } from '@node-rs/argon2';

export const ARGON2ID_PARAMS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID_PARAMS);
}

/** False for a wrong password or a malformed hash; never throws for bad input. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/**
 * Spends the time of one verification without a user, so that "no such user" and "wrong
 * password" take equally long.
 */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('sealmail-timing-equaliser');
  await verifyPassword(await dummy, password);
  return false;
}
