/**
 * Size budgets of the front ends (README "Size budgets"): each app is built with its own Vite
 * config (into a scratch folder), and from the build's manifest the test takes the page's entry
 * chunk and everything it imports statically (what a browser must load before the first paint)
 * and adds up their brotli copies, the bytes the web hosts send. Over budget fails, and the
 * figures are printed either way.
 *
 * Also checked on the same builds: every script the page loads itself is counted; each asset has
 * its .br and .gz copies; the key worker is not part of the web client's first paint but is in its
 * service worker's shell (fetched in parallel once the page has loaded); the viewer's sanitiser and
 * crypto are loaded on demand.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
/** Compressed (brotli) JavaScript of the first paint, in KB (1000 bytes). */
// The admin console has no budget of its own yet (React, not split): a ceiling against runaway growth.
const BUDGETS_KB = { web: 90, viewer: 40, admin: 160 } as const;
type App = keyof typeof BUDGETS_KB;

interface ManifestChunk {
  file: string;
  src?: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
  assets?: string[];
}
type Manifest = Record<string, ManifestChunk>;

const scratch = await mkdtemp(join(tmpdir(), 'sealmail-budgets-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function buildApp(app: App): Promise<{ out: string; manifest: Manifest }> {
  const out = join(scratch, app);
  // A production build as `vite build` makes it: Vitest sets NODE_ENV=test, which would otherwise
  // select the libraries' development builds and the development JSX runtime.
  /* eslint-disable sealmail/no-process-env -- the build tool's mode, not server configuration */
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: join(repo, 'apps', app), mode: 'production', logLevel: 'silent', build: { outDir: out, emptyOutDir: true, manifest: true } });
  } finally {
    process.env.NODE_ENV = before;
  }
  /* eslint-enable sealmail/no-process-env */
  return { out, manifest: JSON.parse(readFileSync(join(out, '.vite', 'manifest.json'), 'utf8')) as Manifest };
}

/** The page's entry chunk and its static imports, transitively: manifest keys. */
function firstPaint(manifest: Manifest): string[] {
  const entry = Object.keys(manifest).find((k) => manifest[k]!.isEntry && manifest[k]!.src === 'index.html');
  if (!entry) throw new Error('no index.html entry in the manifest');
  const seen = new Set<string>();
  const walk = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const i of manifest[key]!.imports ?? []) walk(i);
  };
  walk(entry);
  return [...seen];
}

const size = (file: string) => statSync(file).size;
const kb = (bytes: number) => (bytes / 1000).toFixed(1);

function measure(out: string, files: string[]) {
  let raw = 0;
  let br = 0;
  let gz = 0;
  for (const f of files) {
    const path = join(out, f);
    // The web hosts send these copies; the build must have written both — except for a file so
    // small that the compressed copy would not be smaller (the plugin skips it; the host then
    // sends the file itself, and that is what counts).
    const copy = (ext: string, compress: (b: Buffer) => Buffer) => {
      if (existsSync(`${path}.${ext}`)) return size(`${path}.${ext}`);
      const bytes = readFileSync(path);
      expect(compress(bytes).length, `${f}.${ext} missing, though it would be smaller`).toBeGreaterThanOrEqual(bytes.length);
      return bytes.length;
    };
    raw += size(path);
    br += copy('br', (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    gz += copy('gz', (b) => gzipSync(b, { level: 9 }));
  }
  return { raw, br, gz };
}

describe('size budgets of the first paint', () => {
  const apps = Object.keys(BUDGETS_KB) as App[];
  for (const app of apps) {
    it(`${app}: the entry chunk and its static imports are at most ${BUDGETS_KB[app]} KB of brotli-compressed JavaScript`, { timeout: 300_000 }, async () => {
      const { out, manifest } = await buildApp(app);
      const keys = firstPaint(manifest);
      const js = keys.map((k) => manifest[k]!.file);
      const css = [...new Set(keys.flatMap((k) => manifest[k]!.css ?? []))];
      const j = measure(out, js);
      const c = measure(out, css);
      const lazy = Object.values(manifest).filter((m) => !js.includes(m.file) && m.file.endsWith('.js') && m.file.startsWith('assets/'));
      const l = measure(out, lazy.map((m) => m.file));
      console.log(
        `${app} first paint: ${js.length} scripts, ${kb(j.br)} KB brotli (${kb(j.gz)} KB gzip, ${kb(j.raw)} KB raw) of ${BUDGETS_KB[app]} KB; CSS ${kb(c.br)} KB brotli\n` +
          js.map((f) => `    ${f}  ${kb(size(join(out, `${f}.br`)))} KB br`).join('\n') +
          `\n  on demand: ${lazy.length} scripts, ${kb(l.br)} KB brotli`,
      );
      // What the page itself asks for (scripts, preloads) is all counted.
      const html = readFileSync(join(out, 'index.html'), 'utf8');
      for (const [, src] of html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)) expect(js, `${src} is loaded by the page`).toContain(src);
      expect(j.br / 1000).toBeLessThanOrEqual(BUDGETS_KB[app]);

      if (app === 'web') {
        const worker = Object.values(manifest).flatMap((m) => m.assets ?? []).find((a) => /keys\.worker-[\w-]+\.js$/.test(a));
        expect(worker, 'the key worker is built').toBeDefined();
        expect(js).not.toContain(worker);
        console.log(`  key worker (not in the first paint; precached by the service worker): ${kb(size(join(out, `${worker}.br`)))} KB brotli`);
        const sw = readFileSync(join(out, 'sw.js'), 'utf8');
        expect(sw).toContain(`"/${worker}"`);
        for (const f of js) expect(sw).toContain(`"/${f}"`);
        expect(sw).not.toContain('__SEALMAIL_SHELL__');
      }
      if (app === 'viewer') {
        // Decrypting and sanitising are loaded on demand, not before the first paint.
        const deps = (name: RegExp) => Object.keys(manifest).filter((k) => name.test(k));
        expect(deps(/open\.ts$/).length).toBe(1);
        for (const k of keys) expect(k).not.toMatch(/open\.ts$|client\/src\/html\.ts$/);
      }
    });
  }
});
