/**
 * A seal-pool worker thread (seal-pool.ts): takes `{ id, job }`, seals with `sealJob` and answers
 * `{ id, result }` or `{ id, error }`. The plaintext it was given (a copy, in this thread's memory
 * only) is zeroed once sealed, as the ingress zeroes its own.
 */
import { parentPort } from 'node:worker_threads';
import { sealJob, type SealJob } from './seal-job';

const port = parentPort;
if (!port) throw new Error('seal-worker.ts runs as a worker thread (seal-pool.ts)');
port.on('message', (m: { id: number; job: SealJob }) => {
  sealJob(m.job).then(
    // Copied back, not transferred: a result may be a view into a buffer the crypto code still uses.
    (result) => port.postMessage({ id: m.id, result }),
    (err: unknown) => port.postMessage({ id: m.id, error: { message: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code } }),
  ).finally(() => {
    for (const p of m.job.mail.pieces) if ('plaintext' in p) p.plaintext.fill(0);
  });
});
// Loaded: jobs sent before this count no try if the worker dies now (seal-pool.ts).
port.postMessage({ ready: true });
