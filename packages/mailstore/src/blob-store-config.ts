/**
 * The blob store a process uses, from its configuration (`config.blobStore`,
 * packages/server/src/config.ts): the Postgres store, the disk store, or the S3-compatible one.
 */
import type { Db } from '@sealmail/db';
import { postgresBlobStore, type BlobStore } from './blob-store';
import { diskBlobStore } from './disk-blob-store';
import { s3BlobStore, s3ClientFor, type S3Settings } from './s3-blob-store';

export type BlobStoreSettings = { kind: 'postgres' } | { kind: 'disk'; dir: string } | ({ kind: 's3' } & S3Settings);

export function blobStoreFor(db: Db, settings: BlobStoreSettings): BlobStore {
  if (settings.kind === 'postgres') return postgresBlobStore(db);
  if (settings.kind === 'disk') return diskBlobStore({ db, dir: settings.dir });
  return s3BlobStore({ db, client: s3ClientFor(settings), bucket: settings.bucket, prefix: settings.prefix });
}
