/**
 * Build steps shared by the three front ends (apps/web, apps/admin, apps/viewer), used from their
 * vite.config.ts:
 *  - `precompress()`: a brotli (max quality) and a gzip (level 9) copy beside every text file of
 *    the build, which the web hosts send as is by Accept-Encoding (packages/server/src/webhost.ts);
 *  - `favicon()`: the one Sealmail icon (./favicon.svg) as /favicon.svg of each app;
 *  - `serviceWorker()`: builds an app's service worker to /sw.js (a fixed name, so browsers find
 *    its updates) and writes into it the list of the app shell's files to precache;
 *  - `preactCompat()`: React's API served by preact/compat (about 10 KB instead of 60 KB
 *    compressed), so the web client's first paint fits its budget (README "Size budgets").
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'vite';
import { compression } from 'vite-plugin-compression2';

/** Files worth compressing: text. Images (PNG) are compressed already. */
const TEXT_FILES = /\.(html|css|js|mjs|json|svg|webmanifest|txt)$/;

export function precompress(): Plugin {
  // The plugin's defaults for these two are the maximum: brotli quality 11, gzip level 9.
  return compression({ algorithms: ['brotliCompress', 'gzip'], include: TEXT_FILES, exclude: /(^|\/)\.vite\//, logLevel: 'silent' });
}

const FAVICON = readFileSync(new URL('./favicon.svg', import.meta.url));

export function favicon(): Plugin {
  return {
    name: 'sealmail:favicon',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'favicon.svg', source: FAVICON });
    },
    configureServer(server) {
      server.middlewares.use('/favicon.svg', (_req, res) => {
        res.setHeader('content-type', 'image/svg+xml');
        res.end(FAVICON);
      });
    },
  };
}

/** The global the service worker reads its precache list from; replaced by the build. */
export const SHELL_PLACEHOLDER = '__SEALMAIL_SHELL__';

/**
 * Builds `entry` (relative to the app's root) as /sw.js beside the page, with `__SEALMAIL_SHELL__`
 * replaced by `{ version, files }`: the page, the app's public files (icons, manifest) and every
 * file the build wrote under /assets (content-hashed). `version` changes whenever a file does.
 */
export function serviceWorker(entry: string): Plugin {
  let publicDir = '';
  return {
    name: 'sealmail:service-worker',
    apply: 'build',
    config: () => ({
      build: {
        rollupOptions: {
          input: { index: 'index.html', sw: entry },
          output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
        },
      },
    }),
    configResolved(config) {
      publicDir = config.publicDir;
    },
    generateBundle(_opts, bundle) {
      const sw = bundle['sw.js'];
      if (!sw || sw.type !== 'chunk') return this.error(`the service worker ${entry} was not built to sw.js`);
      if (sw.imports.length || sw.dynamicImports.length) return this.error('the service worker must not import chunks shared with the page (it loads as a classic script)');
      // Hashed names change with their content; the public files keep theirs, so their bytes count.
      const pub = publicFiles(publicDir);
      const files = [...new Set(['/', '/favicon.svg', ...pub.map((f) => `/${f}`), ...Object.keys(bundle).filter((f) => f.startsWith('assets/')).map((f) => `/${f}`)])].sort();
      const hash = createHash('sha256').update(files.join('\n'));
      for (const f of pub) hash.update(readFileSync(join(publicDir, f)));
      const version = hash.digest('hex').slice(0, 16);
      if (!sw.code.includes(SHELL_PLACEHOLDER)) return this.error(`the service worker does not read ${SHELL_PLACEHOLDER}`);
      sw.code = sw.code.replaceAll(SHELL_PLACEHOLDER, JSON.stringify({ version, files }));
    },
  };
}

function publicFiles(dir: string): string[] {
  if (!dir || !existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

/** What each React entry point becomes under preact/compat. */
const PREACT: Readonly<Record<string, string>> = {
  react: 'preact/compat',
  'react-dom': 'preact/compat',
  'react-dom/client': 'preact/compat/client',
  'react/jsx-runtime': 'preact/jsx-runtime',
  'react/jsx-dev-runtime': 'preact/jsx-runtime',
};

/**
 * Resolves `react`, `react-dom` and the JSX runtime to preact/compat for every module of the build
 * (the app's, packages/ui's and libraries' like react-i18next), resolved from `appDir` (the app
 * that depends on preact). The source keeps React's types; JSX compiles to the automatic runtime.
 */
export function preactCompat(appDir: string): Plugin {
  const from = join(appDir, 'index.html');
  return {
    name: 'sealmail:preact-compat',
    enforce: 'pre',
    config: () => ({ oxc: { jsx: { runtime: 'automatic', importSource: 'react' } } }),
    async resolveId(source) {
      const to = PREACT[source];
      return to ? this.resolve(to, from, { skipSelf: true }) : null;
    },
  };
}
