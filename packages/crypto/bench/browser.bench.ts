/**
 * A 25 MiB attachment sealed and opened in headless Chromium the way the web client's key worker
 * does it, beside one native WebCrypto AES-256-GCM call over the same bytes in the same page
 * (these machines are shared: compare ratios, not absolute times).
 *
 *   pnpm --filter @sealmail/crypto exec tsx bench/browser.bench.ts [rounds]
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
if (!chromiumPath) throw new Error('No Chromium found (install the chromium package).');
const rounds = Number(process.argv[2] ?? 7);

const { build } = await import('vite');
const entry = fileURLToPath(new URL('./browser/entry.ts', import.meta.url));
const result = await build({ configFile: false, logLevel: 'silent', build: { write: false, minify: true, lib: { entry, formats: ['iife'], name: 'sealmailBrowserBench' } } });
const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string }[] }[];
const code = outputs[0]!.output.find((o) => o.type === 'chunk')!.code!;
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
try {
  const page = await browser.newPage();
  await page.route('http://localhost/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' }));
  await page.goto('http://localhost/');
  await page.addScriptTag({ content: code });
  const r = await page.evaluate((n) => (globalThis as unknown as { __sealmailBrowserBench: (n: number) => Promise<Record<string, number[]>> }).__sealmailBrowserBench(n), rounds);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mibs = (ms: number) => (25 / (ms / 1000)).toFixed(0);
  const version = browser.version();
  console.log(`\n25 MiB attachment in Chromium ${version}, median of ${rounds}, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log('                                                       ms    MiB/s   vs native');
  const row = (name: string, xs: number[], ref?: number[]) => console.log(name.padEnd(50) + med(xs).toFixed(1).padStart(8) + mibs(med(xs)).padStart(9) + (ref ? `${(med(ref) / med(xs)).toFixed(2)}x`.padStart(12) : ''));
  row('native AES-256-GCM encrypt, one call (reference)', r.nativeEncrypt!);
  row('sealed as the key worker uploads it (piece + hash)', r.seal!, r.nativeEncrypt!);
  row('native AES-256-GCM decrypt, one call (reference)', r.nativeDecrypt!);
  row('opened as the key worker downloads it', r.open!, r.nativeDecrypt!);
  row('SHA-256 of the ciphertext, @noble/hashes', r.hashNoble!);
  row('SHA-256 of the ciphertext, WebCrypto digest', r.hashSubtle!);
} finally {
  await browser.close();
}
