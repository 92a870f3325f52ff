/**
 * The CLI's key store: device secrets and pinned chains in the profile directory, readable only
 * by their owner (files 0600 in a 0700 directory). One device file per address; optionally
 * sealed under a passphrase (docs/crypto.md §5.11):
 *   plain:  the StoredDevice JSON
 *   sealed: { "v": 1, "sealed": base64url(passphrase box of the StoredDevice JSON) }
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyStore, StoredDevice } from '@sealmail/client/identity';
import { fromBase64Url, openWithPassphrase, sealWithPassphrase, toBase64Url } from '@sealmail/crypto';

export class KeyFileError extends Error {
  constructor(
    readonly code: 'PASSPHRASE_REQUIRED' | 'WRONG_PASSPHRASE' | 'PINS_DAMAGED',
    message: string,
  ) {
    super(message);
  }
}

export interface KeyFileOptions {
  /** Asked for when a sealed file is read or written (once; the answer is kept in memory). */
  passphrase?: () => Promise<string>;
  /** Seal new device files under this passphrase. */
  sealWith?: string;
}

/**
 * Writes a private file atomically: a temporary file beside it, then a rename (never half a file).
 * The rename replaces whatever had the name — a symlink planted there is replaced, never written
 * through — and the directory is made 0700 whatever it was.
 */
export async function writePrivate(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, name);
  // A random part: two writes in one millisecond (one process, concurrent saves) must not share a temporary file.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600, flush: true, flag: 'wx' });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * The pins file: what this device verified of everyone's key history. Missing means nothing was
 * pinned yet; a file that does not parse is an error, never an empty set — forgetting every pin
 * would let a server show any history as a first contact (fail closed).
 */
async function readPins(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new KeyFileError('PINS_DAMAGED', `${file} is damaged, so the key histories this device verified cannot be checked. Restore it from a backup; delete it only if you accept trusting every correspondent afresh.`);
}

/** An address as part of a file name in the profile directory. */
export const addressStem = (address: string) => address.toLowerCase().replace(/[^a-z0-9@._-]/g, '_');
const fileOf = (address: string) => `device-${addressStem(address)}.json`;

export function fileKeyStore(dir: string, opts: KeyFileOptions = {}): KeyStore {
  const pinsFile = join(dir, 'pins.json');
  let known: string | undefined = opts.sealWith;
  async function passphrase(): Promise<string> {
    known ??= (await opts.passphrase?.()) || undefined;
    if (!known) throw new KeyFileError('PASSPHRASE_REQUIRED', 'This device’s key file is protected by a passphrase: give it on standard input.');
    return known;
  }
  return {
    async loadDevice(address) {
      const raw = await readJson<StoredDevice | { v: number; sealed: string }>(join(dir, fileOf(address)));
      if (!raw || !('sealed' in raw)) return raw;
      const secret = await passphrase();
      try {
        return JSON.parse(new TextDecoder().decode(openWithPassphrase({ box: fromBase64Url(raw.sealed), passphrase: secret }))) as StoredDevice;
      } catch {
        known = undefined;
        throw new KeyFileError('WRONG_PASSPHRASE', 'The passphrase does not open this device’s key file.');
      }
    },
    async saveDevice(device) {
      const existing = await readJson<{ sealed?: string }>(join(dir, fileOf(device.address)));
      if (!known && !existing?.sealed) return writePrivate(dir, fileOf(device.address), device);
      const sealed = sealWithPassphrase({ plaintext: new TextEncoder().encode(JSON.stringify(device)), passphrase: await passphrase() });
      await writePrivate(dir, fileOf(device.address), { v: 1, sealed: toBase64Url(sealed) });
    },
    async loadRecord<T>(key: string) {
      return ((await readPins(pinsFile))[key] as T | undefined) ?? null;
    },
    async saveRecord(key, value) {
      const pins = await readPins(pinsFile);
      pins[key] = value;
      await writePrivate(dir, 'pins.json', pins);
    },
  };
}
