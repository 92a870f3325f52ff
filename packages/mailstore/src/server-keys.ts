/**
 * The server's own keys, kept in its data folder (mode 0600), made on first use:
 *   - the mail key (X-Wing): clients box a standard mail's message key to it so the server can
 *     relay that mail to the outside world (docs/crypto.md §7.4); erased per message once relayed;
 *   - formerly one DKIM key (RSA 2048) per domain; those now live in the database, sealed
 *     (apps/api/src/mail/dkim-keys.ts), and a file found here is imported once.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { serverKeyId, toBase64Url, toHex, xwingKeyPairFromSeed, XWING } from '@sealmail/crypto';

export interface ServerMailKey {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** Hex key id (docs/crypto.md §5.9). */
  keyId: string;
}

export function serverMailKeyFromSeed(seed: Uint8Array): ServerMailKey {
  const kp = xwingKeyPairFromSeed(seed);
  return { publicKey: kp.publicKey, secretKey: kp.secretKey, keyId: toHex(serverKeyId(kp.publicKey)) };
}

/** A fresh key for tests and one-off tools. */
export const ephemeralServerMailKey = () => serverMailKeyFromSeed(new Uint8Array(randomBytes(XWING.secretKey)));

async function loadOrCreate(file: string, make: () => string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  // 'wx': if another process made it meanwhile, use theirs.
  await writeFile(file, value + '\n', { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return (await readFile(file, 'utf8')).trim();
}

export async function loadOrCreateServerMailKey(dataDir: string): Promise<ServerMailKey> {
  const seed = await loadOrCreate(join(dataDir, 'keys', 'server-mail.key'), () => toBase64Url(new Uint8Array(randomBytes(XWING.secretKey))));
  return serverMailKeyFromSeed(new Uint8Array(Buffer.from(seed, 'base64url')));
}

export interface DkimKey {
  domain: string;
  selector: string;
  privateKey: string;
  /** The TXT record to publish at `<selector>._domainkey.<domain>`. */
  dnsRecord: string;
}

export const DKIM_SELECTOR = 'sealmail';

const dkimFile = (dataDir: string, domain: string) => join(dataDir, 'keys', 'dkim', `${domain.toLowerCase().replace(/[^a-z0-9.-]/g, '_')}.pem`);

/**
 * A domain's DKIM key file in the data folder, or null. The API keeps DKIM keys in the database
 * now (apps/api/src/mail/dkim-keys.ts); a file from before is imported as the active key.
 */
export async function readDkimKeyFile(dataDir: string, domain: string): Promise<string | null> {
  try {
    return (await readFile(dkimFile(dataDir, domain), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A DKIM key of a domain in a folder (made on first use): tests and one-off tools. */
export async function loadOrCreateDkimKey(dataDir: string, domain: string): Promise<DkimKey> {
  const pem = await loadOrCreate(dkimFile(dataDir, domain), () =>
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  return dkimFromPem(domain, pem);
}

export function dkimFromPem(domain: string, privateKey: string): DkimKey {
  const pub = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { domain, selector: DKIM_SELECTOR, privateKey, dnsRecord: `v=DKIM1; k=rsa; p=${pub}` };
}
