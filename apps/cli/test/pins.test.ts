/**
 * The CLI's pins (what this device verified of everyone's key history) are written atomically
 * and fail closed: a damaged pins.json is an error naming the file, never an empty set of pins
 * that would let a server present any history as a first contact.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Identity } from '@sealmail/client/identity';
import type { ApiClient } from '@sealmail/client';
import { createLink, generateDeviceKeys, generatePerUserKey, LinkType, publicKeysOf, toBase64Url, ZERO_HASH } from '@sealmail/crypto';
import { fileKeyStore, KeyFileError } from '../src/keystore';

/** A one-link key history of a user, as the server would serve it. */
function chainOf(userId: string, address: string) {
  const device = generateDeviceKeys();
  const puk = generatePerUserKey(1);
  const root = createLink({ userId, seqno: 0, prev: ZERO_HASH, time: 1, signer: device, body: { type: LinkType.Root, device: { name: 'Laptop', kind: 'cli', keys: publicKeysOf(device) }, puk: { generation: 1, keys: publicKeysOf(puk) } }, newKeys: [puk] });
  return { userId, address, links: [toBase64Url(root.bytes)], resets: [] };
}
const serving = (chains: Record<string, ReturnType<typeof chainOf>>) => ({ sigchain: async (a: string) => chains[a]! }) as unknown as ApiClient;

const dirs: string[] = [];
const profile = async () => {
  const d = await mkdtemp(join(tmpdir(), 'sealmail-pins-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('CLI pins', () => {
  it('are written whole (temporary file, then rename) and read back', async () => {
    const dir = await profile();
    const store = fileKeyStore(dir);
    const pin = { address: 'alice@example.test', userId: 'u-1', length: 3, headHash: 'ab'.repeat(32), rootHash: 'cd'.repeat(32) };
    await store.saveRecord('address:alice@example.test', pin);
    await store.saveRecord('user:u-1', pin);
    expect(await fileKeyStore(dir).loadRecord('address:alice@example.test')).toEqual(pin);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, 'pins.json'), 'utf8'))).toMatchObject({ 'user:u-1': pin });
  });

  it('outlive the process: after a restart, the server cannot map a pinned address to another account', async () => {
    const dir = await profile();
    const alice = chainOf('u-alice', 'alice@example.test');
    const mallory = chainOf('u-mallory', 'mallory@example.test');
    await new Identity(serving({ 'alice@example.test': alice }), fileKeyStore(dir)).verifiedChain('alice@example.test');
    // A new process (a new store over the same profile) and a lying server.
    const lying = serving({ 'alice@example.test': { ...mallory, address: 'alice@example.test' }, 'boss@example.test': { ...alice, address: 'boss@example.test' } });
    await expect(new Identity(lying, fileKeyStore(dir)).verifiedChain('alice@example.test')).rejects.toMatchObject({ code: 'IDENTITY_CHANGED' });
    await expect(new Identity(lying, fileKeyStore(dir)).verifiedChain('boss@example.test')).rejects.toMatchObject({ code: 'IDENTITY_CHANGED' });
    // The honest answer still verifies.
    expect((await new Identity(serving({ 'alice@example.test': alice }), fileKeyStore(dir)).verifiedChain('alice@example.test')).userId).toBe('u-alice');
  });

  it('fail closed: a damaged file is an error, and a chain is not treated as a first contact', async () => {
    const dir = await profile();
    await writeFile(join(dir, 'pins.json'), '{"address:alice@example.test": {"userId": "u-1", "len');
    const store = fileKeyStore(dir);
    await expect(store.loadRecord('address:alice@example.test')).rejects.toMatchObject({ code: 'PINS_DAMAGED', message: expect.stringContaining('pins.json') });
    await expect(store.saveRecord('address:bob@example.test', {})).rejects.toBeInstanceOf(KeyFileError);
    // The client's own code path: verifying a chain stops at the damaged pins, before trusting anything.
    const api = serving({ 'mallory@example.test': chainOf('u-2', 'mallory@example.test') });
    await expect(new Identity(api, store).verifiedChain('mallory@example.test')).rejects.toMatchObject({ code: 'PINS_DAMAGED' });
    // A file that parses but is not an object is damaged too.
    await writeFile(join(dir, 'pins.json'), '[]');
    await expect(fileKeyStore(dir).loadRecord('x')).rejects.toMatchObject({ code: 'PINS_DAMAGED' });
  });
});
