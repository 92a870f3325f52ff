/**
 * The browser key store: IndexedDB, with every device secret encrypted by an AES-256-GCM key
 * that WebCrypto made non-extractable — script (even injected script) can use it only through
 * this origin's WebCrypto, never read it out, and a copy of the database alone is useless.
 * Used inside the key worker only; the UI never holds key bytes.
 *
 *   record = { v: 1, iv: 12 bytes, ct: AES-GCM(wrapKey, iv, aad = "sealmail/idb/v1/" + name, JSON) }
 */
import type { KeyStore, StoredDevice } from './identity';

const DB = 'sealmail-keys';
const STORE = 'kv';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx<T>(db: IDBDatabase, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = fn(db.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Beyond the KeyStore: small encrypted notes the worker keeps (an unconfirmed backup key). */
export interface BrowserKeyStore extends KeyStore {
  saveNote(name: string, value: string): Promise<void>;
  loadNote(name: string): Promise<string | null>;
  deleteNote(name: string): Promise<void>;
  /** Many notes in one IndexedDB transaction each way (a mail list's cached rows). */
  loadNotes(names: readonly string[]): Promise<(string | null)[]>;
  saveNotes(items: readonly (readonly [string, string])[]): Promise<void>;
  clear(): Promise<void>;
}

export async function indexedDbKeyStore(): Promise<BrowserKeyStore> {
  const db = await open();
  let wrapKey = (await tx(db, 'readonly', (s) => s.get('wrap-key'))) as CryptoKey | undefined;
  if (!wrapKey) {
    wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    await tx(db, 'readwrite', (s) => s.put(wrapKey, 'wrap-key'));
  }
  const key = wrapKey;
  const aad = (name: string) => new TextEncoder().encode(`sealmail/idb/v1/${name}`);

  async function put(name: string, value: unknown): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(name) }, key, new TextEncoder().encode(JSON.stringify(value))));
    await tx(db, 'readwrite', (s) => s.put({ v: 1, iv, ct }, name));
  }
  async function get<T>(name: string): Promise<T | null> {
    const rec = (await tx(db, 'readonly', (s) => s.get(name))) as { v: number; iv: Uint8Array; ct: Uint8Array } | undefined;
    if (!rec) return null;
    if (rec.v !== 1) throw new Error('key store: unsupported record version');
    const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: rec.iv as Uint8Array<ArrayBuffer>, additionalData: aad(name) }, key, rec.ct as Uint8Array<ArrayBuffer>);
    return JSON.parse(new TextDecoder().decode(pt)) as T;
  }

  async function seal(name: string, value: unknown) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(name) }, key, new TextEncoder().encode(JSON.stringify(value))));
    return { v: 1, iv, ct };
  }
  async function unseal<T>(name: string, rec: { v: number; iv: Uint8Array; ct: Uint8Array } | undefined): Promise<T | null> {
    if (!rec || rec.v !== 1) return null;
    try {
      const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: rec.iv as Uint8Array<ArrayBuffer>, additionalData: aad(name) }, key, rec.ct as Uint8Array<ArrayBuffer>);
      return JSON.parse(new TextDecoder().decode(pt)) as T;
    } catch {
      return null;
    }
  }
  /** Runs one request per item in one transaction. */
  function batch<T>(mode: IDBTransactionMode, items: readonly unknown[], fn: (s: IDBObjectStore, item: unknown) => IDBRequest<T>): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const s = t.objectStore(STORE);
      const out: T[] = [];
      items.forEach((item, i) => {
        const req = fn(s, item);
        req.onsuccess = () => void (out[i] = req.result);
      });
      t.oncomplete = () => resolve(out);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }

  return {
    async loadNotes(names) {
      const recs = await batch('readonly', names, (s, n) => s.get(`note:${n as string}`));
      return Promise.all(names.map((n, i) => unseal<string>(`note:${n}`, recs[i] as { v: number; iv: Uint8Array; ct: Uint8Array } | undefined)));
    },
    async saveNotes(items) {
      const sealed = await Promise.all(items.map(([n, v]) => seal(`note:${n}`, v)));
      await batch('readwrite', items.map(([n], i) => [n, sealed[i]] as const), (s, it) => {
        const [n, rec] = it as readonly [string, unknown];
        return s.put(rec, `note:${n}`);
      });
    },
    loadDevice: (address) => get<StoredDevice>(`device:${address.toLowerCase()}`),
    saveDevice: (d) => put(`device:${d.address.toLowerCase()}`, d),
    loadRecord: <T>(key: string) => get<T>(`record:${key}`),
    saveRecord: (key, value) => put(`record:${key}`, value),
    saveNote: (name, value) => put(`note:${name}`, value),
    loadNote: (name) => get<string>(`note:${name}`),
    async deleteNote(name) {
      await tx(db, 'readwrite', (s) => s.delete(`note:${name}`));
    },
    async clear() {
      await tx(db, 'readwrite', (s) => s.clear());
    },
  };
}
