/**
 * Browser smoke test: bundles test/browser/entry.ts with Vite and runs it in headless Chromium
 * (playwright-core, system Chromium). Skipped when no Chromium is installed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

describe.skipIf(!chromiumPath)('runs unchanged in a browser (Chromium)', () => {
  it('vectors, piece AEAD (both backends identical), Web Streams, sealing and opening mail', async () => {
    const { build } = await import('vite');
    const entry = fileURLToPath(new URL('./browser/entry.ts', import.meta.url));
    const result = await build({
      configFile: false,
      logLevel: 'silent',
      build: { write: false, minify: false, lib: { entry, formats: ['iife'], name: 'sealmailCryptoSmoke' } },
    });
    const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string }[] }[];
    const code = outputs[0]!.output.find((o) => o.type === 'chunk')!.code!;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.route('http://localhost/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>crypto</title>' }));
      await page.goto('http://localhost/');
      await page.addScriptTag({ content: code });
      const res = await page.evaluate(() => (globalThis as unknown as { __sealmailCryptoSmoke: () => Promise<unknown> }).__sealmailCryptoSmoke());
      expect(res).toEqual({
        secureContext: true,
        noNode: true,
        hpkeVector: true,
        xwingVector: true,
        backendsIdentical: true,
        pieceRoundTrip: true,
        tamperRejected: true,
        webStreams: true,
        mail: true,
        wholeHash: true,
        backupKey: true,
      });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
