/**
 * Rows of a mail list as this device verified them, kept so that a warm list needs no
 * decryption at all (docs/performance.md "Mailbox in the client"). A row is stored under a key
 * that hashes the entry id with the digest of every ciphertext it was verified from (envelope, box,
 * manifest, summary): anything the server changes is a miss and is verified afresh. Rows expire after a
 * day, so what a sender's key history says (a device revoked, a safety number changed) is
 * checked again at least daily. The browser keeps them in the key worker's encrypted IndexedDB
 * store (`idb-keystore.ts`, under its non-extractable key); tests and the CLI keep them in memory.
 */
import { fromBase64Url, toBase64Url, toHex } from '@sealmail/crypto';
import type { EntryView } from '@sealmail/contract';
import type { ProtectionLabel } from './mailer';
import type { MailAddress } from './mime';

/** A verified list row, without the entry's server metadata (flags, folder: always taken fresh). */
export interface CachedRow {
  /** When it was verified (ms since epoch). */
  at: number;
  protection: ProtectionLabel;
  warning: string | null;
  sentBy: string | null;
  subject: string;
  from: MailAddress;
  snippet: string;
  attachmentCount: number;
  /** A draft's recipients, from its sealed body (the server's entry names none). */
  to?: string[];
}

export interface SummaryCache {
  get(keys: readonly string[]): Promise<(CachedRow | null)[]>;
  put(rows: readonly (readonly [string, CachedRow])[]): Promise<void>;
}

/** How long a cached row is shown without verifying it again. */
export const ROW_CACHE_MS = 24 * 60 * 60 * 1000;

/**
 * The digest of the sealed parts a row is verified from, as the list's rows name them (contract
 * `entryRow`): base64url SHA-256 over `u32 length | bytes` of the envelope, the holder's box, the
 * manifest and the sealed summary (empty when none). Computed here from the bytes this device
 * verified, never taken from the server.
 */
export async function sealedDigest(entry: Pick<EntryView, 'envelope' | 'box' | 'manifest' | 'summary'>): Promise<string> {
  const parts = [entry.envelope, entry.box, entry.manifest, entry.summary ?? ''].map((p) => fromBase64Url(p));
  const all = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(all.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    all.set(p, at + 4);
    at += 4 + p.length;
  }
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', all)));
}

/**
 * The cache key of a row: SHA-256 of the entry id and the digest of the sealed parts. A row is
 * stored only under the digest this device computed from the parts it verified ({@link
 * sealedDigest}); a list names a digest to look it up. So a server can at most make the device
 * show what it verified for that same entry: any other digest (another entry's, a changed part,
 * a made-up one) misses and the row is fetched and verified afresh.
 */
export async function rowKey(row: { id: string; digest: string }): Promise<string> {
  const bytes = new TextEncoder().encode(`sealmail/v1/list-row\n${row.id}\n${row.digest}`);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** A cache in memory (CLI, tests), bounded: the oldest rows go first. */
export function memorySummaryCache(max = 20_000): SummaryCache {
  const rows = new Map<string, CachedRow>();
  return {
    async get(keys) {
      return keys.map((k) => rows.get(k) ?? null);
    },
    async put(items) {
      for (const [k, r] of items) {
        rows.delete(k);
        rows.set(k, r);
      }
      while (rows.size > max) rows.delete(rows.keys().next().value!);
    },
  };
}

/**
 * A cache in an encrypted note store (the browser key worker's IndexedDB notes: each value
 * AES-GCM-encrypted under the store's non-extractable key, bound to its name).
 */
export function noteSummaryCache(store: { loadNotes(names: readonly string[]): Promise<(string | null)[]>; saveNotes(items: readonly (readonly [string, string])[]): Promise<void> }, scope: string): SummaryCache {
  const name = (k: string) => `row:${scope}:${k}`;
  return {
    async get(keys) {
      const got = await store.loadNotes(keys.map(name));
      return got.map((v) => {
        if (!v) return null;
        try {
          return JSON.parse(v) as CachedRow;
        } catch {
          return null;
        }
      });
    },
    async put(items) {
      await store.saveNotes(items.map(([k, r]) => [name(k), JSON.stringify(r)] as const));
    },
  };
}
