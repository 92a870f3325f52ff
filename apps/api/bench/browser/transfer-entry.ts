/**
 * Runs inside Chromium (bundled by bench/transfer.bench.ts `browser`): the 25 MiB rows with the
 * web client's own code in a browser — the client in Chromium's processes, the server in Node,
 * as in use — beside a plain `fetch` upload/download of the same bytes to the same server from the
 * same page. Same origin as the API (the bench server serves this page), like the web host.
 */
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';

const SIZE = 25 * 1024 * 1024;

interface Account {
  address: string;
  password: string;
}

async function device(a: Account) {
  const base = location.origin;
  const token = (await new ApiClient({ baseUrl: base }).signIn(a.address, a.password)).token;
  const api = new ApiClient({ baseUrl: base, token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address: a.address, name: 'Bench browser', kind: 'browser' });
  return new Mailer(api, identity, a.address);
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function run(opts: { alice: Account; bob: Account; rounds: number }): Promise<Record<string, number[]>> {
  const big = new Uint8Array(SIZE);
  for (let at = 0; at < SIZE; at += 65536) crypto.getRandomValues(big.subarray(at, at + 65536));
  // A picked file is a Blob: both sides read the same one.
  const blob = new Blob([big], { type: 'application/octet-stream' });
  const file = { name: 'big.bin', type: 'application/octet-stream', size: SIZE, stream: () => blob.stream() };
  const alice = await device(opts.alice);
  const bob = await device(opts.bob);
  const plainUp = async () => {
    const res = await fetch('/bench/plain', { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: blob });
    if (res.status !== 200) throw new Error(`plain upload: HTTP ${res.status}`);
    await res.arrayBuffer();
  };
  const plainDown = async () => {
    const res = await fetch('/bench/plain');
    if ((await res.arrayBuffer()).byteLength !== SIZE) throw new Error('plain download: short');
  };
  let n = 0;
  const sealedUpload = () => alice.upload(`${crypto.randomUUID()}@example.test`, ++n, file);
  await plainUp();
  await plainDown();
  await alice.send({ to: [opts.bob.address], subject: 'Big from the browser', text: 'x', attachments: [file] });
  const entry = (await bob.list({ folder: 'inbox', limit: 5 })).items.find((i) => !('error' in i) && i.subject === 'Big from the browser');
  if (!entry || 'error' in entry) throw new Error('the big mail did not arrive');
  const sealedDown = async () => {
    const opened = await bob.open(entry.entryId);
    if ((await bob.attachmentBytes(opened, 1)).length !== SIZE) throw new Error('sealed download: short');
  };
  await sealedDown();
  await sealedUpload();
  const out: Record<string, number[]> = { plainUp: [], upload: [], plainDown: [], sealedDown: [] };
  for (let r = 0; r < opts.rounds; r++) {
    out.plainUp!.push(await timed(plainUp));
    out.upload!.push(await timed(sealedUpload));
    out.plainDown!.push(await timed(plainDown));
    out.sealedDown!.push(await timed(sealedDown));
  }
  return out;
}

(globalThis as unknown as { __sealmailTransferBench: typeof run }).__sealmailTransferBench = (opts) =>
  run(opts).catch((e: unknown) => {
    throw new Error(String((e as Error)?.stack ?? e));
  });
