/**
 * A small pool of worker threads that seal server-sealed mail (seal-job.ts), so the SMTP
 * process's event loop speaks SMTP, parses and stores while the X-Wing encapsulations and AEAD run
 * beside it (docs/performance.md "Speed, third round"). Plaintext goes to a worker as a copy in
 * this process's memory (never to disk) and is zeroed there once sealed.
 *
 * A job goes to the worker with the fewest jobs in flight. A worker that dies (an uncaught error,
 * an exit, terminate) is replaced at once and its jobs are sent once more to the others; a job
 * that fails twice that way is rejected (the ingress answers 451, the sender retries). An error
 * the sealing itself throws is the caller's, as in-process. Workers that keep dying without
 * sealing anything (their code does not load) are not started again after MAX_DEATHS in a row; with
 * none left the pool seals in this thread, so mail still flows.
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sealJob, type SealJob, type SealResult } from './seal-job';

/** Deaths in a row, with no job sealed in between, after which a dead worker is not replaced. */
export const MAX_DEATHS = 5;

/** Set to true by the build of the services (esbuild `define`); absent when running from source. */
declare const __SEALMAIL_COMPILED__: boolean | undefined;

/**
 * Where the worker's code is: beside the running bundle when compiled (`dist/seal-worker.mjs`,
 * scripts/build-services.mjs), else this package's TypeScript source (run through tsx).
 */
export function defaultSealWorkerUrl(): URL {
  const compiled = typeof __SEALMAIL_COMPILED__ !== 'undefined' && __SEALMAIL_COMPILED__;
  return compiled ? new URL('./seal-worker.mjs', pathToFileURL(process.argv[1]!)) : new URL('./seal-worker.ts', import.meta.url);
}

interface Job {
  id: number;
  job: SealJob;
  tries: number;
  resolve: (r: SealResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** The worker's code loaded (it said so); a job counts a try only on a worker that had. */
  ready: boolean;
}

export class SealPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private deathsInARow = 0;
  /** Jobs sealed, and workers replaced after they died. */
  readonly stats = { sealed: 0, restarts: 0 };

  constructor(
    readonly size: number,
    private readonly workerUrl: URL = defaultSealWorkerUrl(),
    private readonly onRestart: (err: unknown) => void = () => undefined,
  ) {
    if (!(size >= 1)) throw new Error('a seal pool needs at least one worker');
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Seals in a worker; same result as `sealJob(job)` in this thread. */
  seal(job: SealJob): Promise<SealResult> {
    if (this.closed) return Promise.reject(new Error('seal pool closed'));
    if (!this.slots.length) return sealJob(job);
    return new Promise((resolve, reject) => this.dispatch({ id: this.nextId++, job, tries: 0, resolve, reject }));
  }

  /** Ends the workers; jobs in flight are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) for (const j of s.jobs.values()) j.reject(new Error('seal pool closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** The workers' thread ids (tests end one to see the pool survive it). */
  get threadIds(): number[] {
    return this.slots.map((s) => s.worker.threadId);
  }

  /** Ends one worker as a crash would (tests; operations may use it to recycle a worker). */
  async terminateWorker(threadId: number): Promise<void> {
    await this.slots.find((s) => s.worker.threadId === threadId)?.worker.terminate();
  }

  private dispatch(j: Job): void {
    if (!this.slots.length) {
      sealJob(j.job).then(j.resolve, j.reject);
      return;
    }
    const slot = this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    j.tries++;
    slot.jobs.set(j.id, j);
    slot.worker.postMessage({ id: j.id, job: j.job });
  }

  private spawn(): Slot {
    const url = this.workerUrl;
    // From source, the worker registers tsx first (a worker does not take `--import` hooks from execArgv in Node 20).
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true })
      : new Worker(url);
    worker.unref();
    const slot: Slot = { worker, jobs: new Map(), ready: false };
    worker.on('message', (m: { id: number; ready?: true; result?: SealResult; error?: { message: string; code?: string } }) => {
      if (m.ready) return void (slot.ready = true);
      const j = slot.jobs.get(m.id);
      if (!j) return;
      slot.jobs.delete(m.id);
      if (m.error) return j.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
      this.stats.sealed++;
      this.deathsInARow = 0;
      j.resolve(m.result!);
    });
    let gone = false;
    const died = (err: unknown) => {
      if (gone) return;
      gone = true;
      const at = this.slots.indexOf(slot);
      if (at < 0 || this.closed) return;
      this.onRestart(err);
      if (++this.deathsInARow > MAX_DEATHS) this.slots.splice(at, 1);
      else {
        this.stats.restarts++;
        this.slots[at] = this.spawn();
      }
      for (const j of slot.jobs.values()) {
        if (!slot.ready) j.tries--;
        if (j.tries >= 2) j.reject(new Error('seal worker died twice while sealing this message'));
        else this.dispatch(j);
      }
      slot.jobs.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`seal worker exited (${code})`)));
    return slot;
  }
}
