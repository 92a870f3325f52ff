/**
 * The S3-compatible blob store (docs/operations.md, "Object storage"): each part of a blob is one
 * object, `<prefix><blob id>/<index>` (parts are at most 4 MiB, so plain PUTs; no S3 multipart
 * uploads to abandon). Only ciphertext reaches it: blobs are sealed attachment pieces.
 * Metadata — which blobs exist, owner, size, hash, quota — stays in Postgres; a part is written only
 * while its blob's row exists (the row is held `FOR KEY SHARE` during the PUT, so a concurrent
 * delete waits), and writes of one part are serialised by an advisory lock so the size a re-sent
 * part replaces is answered once (the upload route refunds it). Objects whose row went (a message
 * deleted, a crash between the database and the bucket) are collected by
 * `collectUnreferencedBlobs` after the housekeeping grace period.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Db } from '@sealmail/db';
import { withPartLock, type BlobStore } from './blob-store';

/** Where the bucket is and how to reach it (packages/server/src/config.ts, SEALMAIL_S3_*). */
export interface S3Settings {
  /** Absent: the provider's endpoint for `region` (AWS). */
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  /** Key prefix of every object, e.g. `blobs/`. */
  prefix: string;
  /** Path-style URLs (`https://host/bucket/key`), as MinIO and most S3-compatible servers want. */
  forcePathStyle: boolean;
  /** Absent: the SDK's default credential chain (instance role, …). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** An S3 client for `settings`. Checksums only where the API requires them, so servers that do not speak the newer flexible checksums (older MinIO, test servers) work; each PUT carries Content-MD5 instead. */
export function s3ClientFor(settings: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  if (settings.accessKeyId && settings.secretAccessKey) config.credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };
  return new S3Client(config);
}

export interface S3BlobStoreOptions {
  db: Db;
  client: S3Client;
  bucket: string;
  prefix: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export function s3BlobStore(opts: S3BlobStoreOptions): BlobStore {
  const { db, client, bucket, prefix } = opts;
  const keyOf = (blobId: string, index: number) => `${prefix}${blobId}/${index}`;

  async function listKeys(listPrefix: string, startAfter?: string, maxKeys = 1000) {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, MaxKeys: maxKeys, ...(startAfter ? { StartAfter: startAfter } : {}) }));
    return { items: (out.Contents ?? []).map((o) => ({ key: o.Key!, size: Number(o.Size ?? 0), modified: o.LastModified ?? new Date(0) })), more: !!out.IsTruncated };
  }

  async function partKeys(blobId: string) {
    const keys: { key: string; index: number; size: number }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listKeys(`${prefix}${blobId}/`, after);
      for (const it of page.items) {
        const index = Number(it.key.slice(prefix.length + blobId.length + 1));
        if (Number.isInteger(index) && index >= 0) keys.push({ key: it.key, index, size: it.size });
      }
      if (!page.more || !page.items.length) return keys;
      after = page.items[page.items.length - 1]!.key;
    }
  }

  async function getPart(blobId: string, index: number): Promise<Uint8Array | null> {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(blobId, index) }));
      return await res.Body!.transformToByteArray();
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  return {
    async putPart(blobId, index, bytes) {
      // One writer per part; the blob's row cannot go while its bytes are being written.
      return withPartLock(db, blobId, index, { needRow: true }, async () => {
        let old = 0;
        try {
          old = Number((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(blobId, index) }))).ContentLength ?? 0);
        } catch (err) {
          if (!notFound(err)) throw err;
        }
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: keyOf(blobId, index),
            Body: bytes,
            ContentLength: bytes.length,
            ContentType: 'application/octet-stream',
            ContentMD5: createHash('md5').update(bytes).digest('base64'),
          }),
        );
        return old;
      });
    },
    async partSizes(blobId) {
      return new Map((await partKeys(blobId)).map((k) => [k.index, k.size]));
    },
    async *read(blobId, parts) {
      for (let index = 0; index < parts; index++) {
        const bytes = await getPart(blobId, index);
        if (!bytes) throw new Error(`blob ${blobId} lost part ${index}`);
        yield bytes;
      }
    },
    readPart: getPart,
    async delete(blobIds) {
      const keys: string[] = [];
      for (const id of new Set(blobIds)) keys.push(...(await partKeys(id)).map((k) => k.key));
      for (let at = 0; at < keys.length; at += 1000) {
        const out = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(at, at + 1000).map((Key) => ({ Key })), Quiet: true } }));
        if (out.Errors?.length) throw new Error(`object storage refused to delete ${out.Errors.length} object(s): ${out.Errors[0]?.Code ?? 'error'}`);
      }
    },
    async listBlobs({ after, limit }) {
      // Keys sort by blob id, then index; `<id>0` sorts after every `<id>/<index>` and before the next id.
      const seen = new Map<string, Date>();
      let startAfter = after ? `${prefix}${after}0` : undefined;
      for (;;) {
        const page = await listKeys(prefix, startAfter);
        for (const it of page.items) {
          const id = it.key.slice(prefix.length, prefix.length + 36);
          if (!UUID.test(id)) continue;
          if (!seen.has(id) && seen.size === limit) return [...seen].map(([blobId, modifiedAt]) => ({ blobId, modifiedAt }));
          const prev = seen.get(id);
          if (!prev || it.modified > prev) seen.set(id, it.modified);
        }
        if (!page.more || !page.items.length) break;
        startAfter = page.items[page.items.length - 1]!.key;
      }
      return [...seen].map(([blobId, modifiedAt]) => ({ blobId, modifiedAt }));
    },
  };
}
