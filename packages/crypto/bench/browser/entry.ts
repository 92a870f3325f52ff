/**
 * Runs inside Chromium (bundled by bench/browser.bench.ts): a 25 MiB attachment sealed and opened
 * the way the web client's key worker does it (`Mailer.upload`: 1 MiB pushes sealed into one
 * output buffer; `Mailer.attachmentBytes`: 1 MiB pushes opened into one output buffer, the
 * manifest's ciphertext hash checked at the end), beside one WebCrypto AES-256-GCM call over the
 * same bytes (the browser's native speed) and the ciphertext hash alone.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { createMailPieceDecryptor, createMailPieceEncryptor, pieceCiphertextLength, type Manifest } from '../../src/index';

const SIZE = 25 * 1024 * 1024;
const MIB = 1 << 20;

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function run(rounds: number): Promise<Record<string, number[]>> {
  const pt = random(SIZE);
  const key = await crypto.subtle.importKey('raw', random(32) as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const iv = random(12);
  const nativeCt = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource }, key, pt as BufferSource));
  const out: Record<string, number[]> = { nativeEncrypt: [], nativeDecrypt: [], seal: [], open: [], hashNoble: [], hashSubtle: [] };
  let manifest: Manifest | null = null;
  let sealed = new Uint8Array(0);
  const seal = async () => {
    sealed = new Uint8Array(pieceCiphertextLength(SIZE));
    const enc = await createMailPieceEncryptor({ messageId: 'bench@example.test', index: 1, kind: 'attachment', output: sealed });
    for (let at = 0; at < SIZE; at += MIB) await enc.push(pt.subarray(at, at + MIB));
    const { piece } = await enc.final();
    manifest = { messageId: 'bench@example.test', pieces: [{ kind: 'body', key: random(32), size: 0, ciphertextHash: new Uint8Array(32) }, piece] } as unknown as Manifest;
  };
  let download: Uint8Array[] = [];
  const open = async () => {
    const output = new Uint8Array(SIZE);
    const dec = createMailPieceDecryptor({ manifest: manifest!, index: 1, output });
    for (const chunk of download) await dec.push(chunk);
    await dec.final();
    if (output[SIZE - 1] !== pt[SIZE - 1]) throw new Error('opened bytes differ');
  };
  for (let r = 0; r < rounds; r++) {
    out.nativeEncrypt!.push(await timed(() => crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource }, key, pt as BufferSource)));
    out.seal!.push(await timed(seal));
    download = [];
    for (let at = 0; at < sealed.length; at += MIB) download.push(sealed.slice(at, at + MIB)); // a download's chunks: fresh buffers, cut before the clock starts
    out.nativeDecrypt!.push(await timed(() => crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv as BufferSource }, key, nativeCt as BufferSource)));
    out.open!.push(await timed(open));
    out.hashNoble!.push(await timed(async () => sha256(sealed)));
    out.hashSubtle!.push(await timed(() => crypto.subtle.digest('SHA-256', sealed as BufferSource)));
  }
  return out;
}

(globalThis as unknown as { __sealmailBrowserBench: typeof run }).__sealmailBrowserBench = run;
