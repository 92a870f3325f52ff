/**
 * The CLI's key store: device secrets and pinned chains in the profile directory, readable only
 * by their owner (files 0600 in a 0700 directory). One device file per address.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyStore, StoredDevice } from '@sealmail/client/identity';

async function writePrivate(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

const fileOf = (address: string) => `device-${address.toLowerCase().replace(/[^a-z0-9@._-]/g, '_')}.json`;

export function fileKeyStore(dir: string): KeyStore {
  const pinsFile = join(dir, 'pins.json');
  return {
    loadDevice: (address) => readJson<StoredDevice>(join(dir, fileOf(address))),
    saveDevice: (device) => writePrivate(dir, fileOf(device.address), device),
    async loadPin(userId) {
      return (await readJson<Record<string, { length: number; headHash: string }>>(pinsFile))?.[userId] ?? null;
    },
    async savePin(userId, pin) {
      const pins = (await readJson<Record<string, { length: number; headHash: string }>>(pinsFile)) ?? {};
      pins[userId] = pin;
      await writePrivate(dir, 'pins.json', pins);
    },
  };
}
