/**
 * The CLI's SearchStore: the on-device search index of one address, in the profile directory
 * next to that address's key file (`search-<address>.bin`, 0600), sealed as a local box
 * (docs/crypto.md §5.13) under a key derived from the device's secret seed — without the key
 * file it is noise. Written to a temporary file and renamed, so a crash never leaves half an
 * index; a file that does not open (another device's, damaged) reads as no index.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SearchStore } from '@sealmail/client/identity';
import { openLocalBox, sealLocalBox } from '@sealmail/crypto';
import { addressStem } from './keystore';

const PURPOSE = 'search-index';

export const searchIndexFile = (dir: string, address: string) => join(dir, `search-${addressStem(address)}.bin`);

/**
 * @param secret this device's secret seed for the address (from its key file).
 * @param onUnreadable told when a stored index exists but cannot be opened (it is then rebuilt).
 */
export function fileSearchStore(dir: string, address: string, secret: Uint8Array, onUnreadable?: (err: unknown) => void): SearchStore {
  const file = searchIndexFile(dir, address);
  return {
    async load() {
      let record: Uint8Array;
      try {
        record = new Uint8Array(await readFile(file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      try {
        return openLocalBox({ secret, purpose: PURPOSE, record });
      } catch (err) {
        onUnreadable?.(err);
        return null;
      }
    },
    async save(bytes) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, sealLocalBox({ secret, purpose: PURPOSE, plaintext: bytes }), { mode: 0o600, flag: 'wx' });
        await chmod(tmp, 0o600);
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
  };
}
