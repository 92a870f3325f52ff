/**
 * Test support: a real S3-protocol server on loopback for the blob-store tests.
 *
 * The server is `@20minutes/s3rver` 4.x, an S3-protocol server written in Node that stores objects
 * in a folder; here it stands in for S3 or MinIO (no Docker engine and no MinIO build are
 * available on the development machines or CI). It is the maintained fork of `s3rver`: the
 * original 3.7.1 pulls busboy 0.3 (dicer: a high advisory with no fix) and fast-xml-parser 3
 * (high advisories), which `scripts/audit.mjs` fails on; the fork uses busboy 1.6 and
 * fast-xml-parser 5 (docs/operations.md, "Object storage").
 *
 * One quirk, handled in `s3rverClient`: for bucket-level calls (list, batch delete) the AWS SDK
 * signs the path `/<bucket>/` while s3rver checks the signature against `/<bucket>`; the test
 * client sends `/<bucket>` so both sign the same thing and signatures stay checked. AWS and
 * MinIO take either path, so production clients are left as the SDK makes them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3ClientFor, type S3Settings } from '../s3-blob-store';

export interface TestS3Server {
  /** Settings as the configuration would give them (SEALMAIL_S3_*). */
  settings: S3Settings;
  /** The environment variables that select this server (for a child process). */
  env: Record<string, string>;
  /** A client for it (see the quirk above). */
  client(): S3Client;
  close(): Promise<void>;
}

/** Makes `client` send bucket-level requests to `/<bucket>` rather than `/<bucket>/` (s3rver's signature check). */
export function s3rverClient(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { path?: string };
      if (typeof req.path === 'string' && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 'sealmailS3rverBucketPath' },
  );
  return client;
}

/** Starts an S3-protocol server on 127.0.0.1 (a free port) with one empty bucket. */
export async function startTestS3Server(opts: { bucket?: string; allowMismatchedSignatures?: boolean } = {}): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'sealmail-s3-'));
  const bucket = opts.bucket ?? 'sealmail-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }], allowMismatchedSignatures: opts.allowMismatchedSignatures ?? false });
  const { port } = await server.run();
  const settings: S3Settings = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', bucket, prefix: 'blobs/', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    settings,
    env: {
      SEALMAIL_S3_ENDPOINT: settings.endpoint!,
      SEALMAIL_S3_REGION: settings.region,
      SEALMAIL_S3_BUCKET: bucket,
      SEALMAIL_S3_PREFIX: settings.prefix,
      SEALMAIL_S3_FORCE_PATH_STYLE: 'true',
      SEALMAIL_S3_ACCESS_KEY_ID: 'S3RVER',
      SEALMAIL_S3_SECRET_ACCESS_KEY: 'S3RVER',
    },
    client: () => s3rverClient(s3ClientFor(settings)),
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
