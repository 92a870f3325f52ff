/**
 * Benchmarks for @sealmail/crypto (not shipped code; may use node:crypto as the reference).
 * Run: pnpm --filter @sealmail/crypto bench
 *
 * Prints piece encryption/decryption throughput for 1 KiB, 1 MiB and 25 MiB next to Node's native
 * AES-256-GCM (one cipher call over the same bytes); X-Wing encapsulations/decapsulations and
 * Ed25519 signatures per second on the native paths beside the pure-JS reference
 * (`@noble/post-quantum`'s X-Wing, `@noble/curves`' Ed25519) in the same run; and seal/open times
 * for 1, 10, 100 recipients with the per-recipient rate (wall clock and CPU time).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import {
  ed25519SignAsync,
  generateXWingKeyPair,
  xwingDecapsulate,
  xwingDecapsulateAsync,
  xwingEncapsulateAsync,
  decryptPiece,
  encryptPiece,
  generateDeviceKeys,
  generatePerUserKey,
  openMail,
  publicKeysOf,
  sealMail,
  type AeadBackend,
} from '../src/index';

async function measure(fn: () => Promise<unknown> | unknown, minMs = 500, maxIter = 100_000): Promise<number> {
  const w0 = performance.now();
  for (let i = 0; i < 20 && (i < 1 || performance.now() - w0 < minMs / 4); i++) await fn(); // warm-up (JIT)
  let n = 0;
  const t0 = performance.now();
  while (n < maxIter && (n < 3 || performance.now() - t0 < minMs)) {
    await fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

/**
 * Median time per call of `a` and of `b`, run alternately (a, b, a, b, …) for about `ms`, so the
 * two see the same load on a shared machine; medians, so a stall of the machine skews neither.
 */
async function paired(a: () => Promise<unknown> | unknown, b: () => Promise<unknown> | unknown, ms = 1500): Promise<[number, number]> {
  for (let i = 0; i < 3; i++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  const t0 = performance.now();
  while (ta.length < 5 || (performance.now() - t0 < ms && ta.length < 10_000)) {
    let t = performance.now();
    await a();
    ta.push(performance.now() - t);
    t = performance.now();
    await b();
    tb.push(performance.now() - t);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  return [med(ta), med(tb)];
}

const mbps = (bytes: number, ms: number) => bytes / (1024 * 1024) / (ms / 1000);
const fmt = (x: number, d = 1) => x.toFixed(d).padStart(9);

function nativeGcm(pt: Uint8Array) {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const enc = () => {
    const c = createCipheriv('aes-256-gcm', key, iv);
    const out = Buffer.concat([c.update(pt), c.final()]);
    return { out, tag: c.getAuthTag() };
  };
  const { out, tag } = enc();
  const dec = () => {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(out), d.final()]);
  };
  return { enc, dec };
}

async function pieces() {
  console.log('\nPiece AEAD (chunked AES-256-GCM, key-committing) vs Node native AES-256-GCM (one call), interleaved, medians');
  console.log('size      backend      enc MB/s  dec MB/s  native enc  native dec  enc/native  dec/native');
  const key = new Uint8Array(randomBytes(32));
  const context = new TextEncoder().encode('bench/piece-0');
  for (const [label, size] of [['1 KiB', 1024], ['1 MiB', 1 << 20], ['25 MiB', 25 << 20]] as const) {
    const pt = new Uint8Array(randomBytes(size));
    const native = nativeGcm(pt);
    for (const backend of [undefined, 'node', 'webcrypto', 'noble'] as (AeadBackend | undefined)[]) {
      const quick = backend === 'noble' && size > 1 << 20;
      const ct = await encryptPiece({ key, context, plaintext: pt, backend });
      // The reference interleaved call by call with each row (the shared machine's load moves within seconds).
      const [nEnc, e] = quick ? [await measure(() => native.enc()), await measure(() => encryptPiece({ key, context, plaintext: pt, backend }), 1, 2)] : await paired(() => native.enc(), () => encryptPiece({ key, context, plaintext: pt, backend }));
      const [nDec, d] = quick ? [await measure(() => native.dec()), await measure(() => decryptPiece({ key, context, ciphertext: ct, backend }), 1, 2)] : await paired(() => native.dec(), () => decryptPiece({ key, context, ciphertext: ct, backend }));
      console.log(
        `${label.padEnd(9)} ${(backend ?? 'default').padEnd(10)} ${fmt(mbps(size, e))} ${fmt(mbps(size, d))} ${fmt(mbps(size, nEnc), 1)}   ${fmt(mbps(size, nDec), 1)}   ${fmt(nEnc / e, 2)}x   ${fmt(nDec / d, 2)}x`,
      );
    }
  }
}

async function kem() {
  console.log('\nX-Wing and Ed25519: native paths vs the pure-JS reference (@noble), same run');
  console.log('operation                                          native/s   pure-JS/s    speed-up');
  const kps = Array.from({ length: 8 }, () => generateXWingKeyPair());
  let i = 0;
  const next = () => kps[i++ % kps.length]!;
  const cts = kps.map((k) => ({ k, ct: ml_kem768_x25519.encapsulate(k.publicKey).cipherText }));
  let j = 0;
  const nextCt = () => cts[j++ % cts.length]!;
  const row = (name: string, nat: number, js: number) => console.log(`${name.padEnd(48)} ${fmt(1000 / nat, 0)}   ${fmt(1000 / js, 0)}   ${fmt(js / nat, 1)}x`);
  // Encapsulation to the same 8 recipients again and again (their ML-KEM keys pre-expanded once).
  row('X-Wing encapsulate (8 recipients, repeated)', await measure(() => xwingEncapsulateAsync(next().publicKey), 1000), await measure(() => ml_kem768_x25519.encapsulate(next().publicKey), 1000));
  // Encapsulation to a recipient never seen before (fresh key each time, key generation excluded).
  const fresh = Array.from({ length: 200 }, () => generateXWingKeyPair().publicKey);
  let f = 0;
  const coldNat = await measure(() => xwingEncapsulateAsync(fresh[f++ % fresh.length]!), 400, 200);
  row('X-Wing encapsulate (first time per recipient)', coldNat, await measure(() => ml_kem768_x25519.encapsulate(fresh[f++ % fresh.length]!), 400, 200));
  row('X-Wing decapsulate (native X25519)', await measure(() => { const c = nextCt(); return xwingDecapsulateAsync(c.ct, c.k.secretKey); }, 1000), await measure(() => { const c = nextCt(); return ml_kem768_x25519.decapsulate(c.ct, c.k.secretKey); }, 1000));
  row('X-Wing decapsulate (pure JS, expanded key)', await measure(() => { const c = nextCt(); return xwingDecapsulate(c.ct, c.k.secretKey); }, 1000), await measure(() => { const c = nextCt(); return ml_kem768_x25519.decapsulate(c.ct, c.k.secretKey); }, 1000));
  const sk = new Uint8Array(randomBytes(32));
  const msg = new Uint8Array(randomBytes(100));
  row('Ed25519 sign (100 bytes)', await measure(() => ed25519SignAsync(sk, msg), 1000), await measure(() => ed25519.sign(msg, sk), 1000));
}

async function seal() {
  console.log('\nsealMail / openMail (1 KiB body + 100 KiB attachment; ML-KEM pure JS on pre-expanded keys, X25519 and Ed25519 signing native)');
  console.log('recipients   seal ms   open ms (one holder)   seal ms / recipient   recipients/s (wall)   recipients/s per CPU-second');
  const sender = generateDeviceKeys();
  const alice = generatePerUserKey(1);
  const body = new Uint8Array(randomBytes(1024));
  const att = new Uint8Array(randomBytes(100 * 1024));
  for (const n of [1, 10, 100]) {
    const puks = Array.from({ length: n }, () => generatePerUserKey(1));
    const to = puks.map((p, i) => ({ userId: `u${i}`, generation: 1, publicKeys: publicKeysOf(p) }));
    const args = {
      messageId: 'bench',
      sender: { kind: 'device' as const, userId: 'alice', deviceId: 'd', signingSecretKey: sender.signing.secretKey, signingPublicKey: sender.signing.publicKey },
      pieces: [{ kind: 'body' as const, plaintext: body }, { kind: 'attachment' as const, plaintext: att }],
      to,
      senderCopy: { userId: 'alice', generation: 1, publicKeys: publicKeysOf(alice) },
    };
    const sealed = await sealMail(args);
    let runs = 0;
    const cpu0 = process.cpuUsage();
    const s = await measure(() => (runs++, sealMail(args)), 1000, n === 100 ? 5 : 20);
    const cpu = process.cpuUsage(cpu0);
    const cpuMsPerRun = (cpu.user + cpu.system) / 1000 / runs; // all threads (WebCrypto's pool too)
    const o = await measure(() =>
      openMail({
        envelope: sealed.envelope,
        record: sealed.boxes[0]!.record,
        manifest: sealed.manifest,
        pieces: sealed.pieces as Uint8Array[],
        userId: 'u0',
        puk: puks[0]!,
        expectedSenderSigningKeys: [sender.signing.publicKey],
      }),
    );
    console.log(`${String(n).padStart(10)} ${fmt(s)} ${fmt(o, 2)}              ${fmt(s / (n + 1), 2)}           ${fmt((1000 * (n + 1)) / s, 0)}             ${fmt((1000 * (n + 1)) / cpuMsPerRun, 0)}`);
  }
}

console.log(`@sealmail/crypto benchmark — Node ${process.version}, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const only = process.argv[2]; // `pieces`, `kem` or `seal` to run one part
if (!only || only === 'pieces') await pieces();
if (!only || only === 'kem') await kem();
if (!only || only === 'seal') await seal();
