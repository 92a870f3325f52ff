#!/usr/bin/env node
/**
 * Compiles the server processes for production (docs/operations.md "Production form"): one
 * esbuild bundle per process in `dist/`, run with plain `node dist/<name>.mjs` — no TypeScript
 * loader at run time (tsx stays for development and tests).
 *
 *   dist/api.mjs        apps/api/src/main.ts      the API
 *   dist/smtp.mjs       apps/smtp/src/main.ts     the SMTP ingress
 *   dist/web-hosts.mjs  scripts/web-hosts.ts      the web, admin and viewer hosts
 *   dist/start.mjs      scripts/start.ts          the start command (supervises the three above)
 *   dist/migrate.mjs    scripts/migrate.ts        migrations for deployments with their own Postgres
 *   dist/blob-migrate.mjs scripts/blob-migrate.ts  moves blobs between the blob stores
 *   dist/seal-worker.mjs packages/mailstore/src/seal-worker.ts  the SMTP process's seal-pool worker thread
 *
 * What goes into a bundle: the workspace's own TypeScript (apps, packages/*, Prisma's generated
 * client in packages/db/src/generated). What stays outside: every npm package, imported at run
 * time from where pnpm installed it for the importing workspace package (its real path in
 * node_modules/.pnpm, written relative to dist/), so native and WASM parts load as they do in
 * development. `import.meta.url` in a bundled source file still names that source file (made
 * relative to the bundle), so files found next to the sources (migrations, package.json) are
 * found the same way.
 *
 * `node scripts/build-services.mjs` builds; `--if-stale` builds only when a source is newer than
 * the bundles (what `npm start` does). Exits non-zero on a build error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist');

export const entries = {
  api: 'apps/api/src/main.ts',
  smtp: 'apps/smtp/src/main.ts',
  'web-hosts': 'scripts/web-hosts.ts',
  start: 'scripts/start.ts',
  migrate: 'scripts/migrate.ts',
  'blob-migrate': 'scripts/blob-migrate.ts',
  'seal-worker': 'packages/mailstore/src/seal-worker.ts',
};

/** Where the bundled code comes from: the inputs whose change makes the bundles stale. */
const sourceDirs = ['apps/api/src', 'apps/smtp/src', 'packages', 'scripts', 'prisma/schema.prisma', 'package.json', 'pnpm-lock.yaml'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist' || name === 'test' || name === 'bench') continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/** Whether some bundle is missing or older than a source it is made from. */
export function stale() {
  const outputs = Object.keys(entries).map((n) => join(outdir, `${n}.mjs`));
  if (!outputs.every((o) => existsSync(o))) return true;
  const built = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  return sourceDirs.some((d) => newestMtime(join(root, d)) > built);
}

const toUrlPath = (p) => p.split(sep).join('/');

/**
 * Workspace sources are bundled; npm packages stay external, imported from their installed path
 * (written relative to `out`, the bundle's folder; the SMTP bench bundles its server child this way).
 */
export const workspaceOnlyFor = (out) => ({
  name: 'sealmail-externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:') || args.pluginData?.sealmail) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { sealmail: true } });
      if (r.errors.length) return { errors: r.errors };
      // Node built-ins without the node: prefix.
      if (r.external && !r.path.startsWith('/')) return { path: r.path, external: true };
      const inWorkspace = !r.path.split(sep).includes('node_modules');
      if (inWorkspace) return { path: r.path };
      return { path: toUrlPath(relative(out, r.path)).replace(/^(?!\.)/, './'), external: true };
    });
    // import.meta.url in a bundled file: that source file's own URL, relative to the bundle.
    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = toUrlPath(relative(out, args.path));
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
    });
  },
});
const workspaceOnly = workspaceOnlyFor(outdir);

export async function buildServices({ quiet = false } = {}) {
  const started = Date.now();
  const result = await build({
    // Written below, each file renamed into place: a build running meanwhile (another test
    // file, a second start) never sees or leaves a half-written bundle.
    write: false,
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, src]) => [name, join(root, src)])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [workspaceOnly],
    // The start command runs its children from these bundles when it is one itself.
    define: { __SEALMAIL_COMPILED__: 'true' },
    banner: { js: `// Built by scripts/build-services.mjs from the TypeScript sources; do not edit.` },
  });
  await mkdir(outdir, { recursive: true });
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, f.contents);
    await rename(tmp, f.path);
  }
  if (!quiet) console.log(`[sealmail] built ${Object.keys(entries).map((n) => `dist/${n}.mjs`).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ifStale = process.argv.includes('--if-stale');
  if (!ifStale || stale()) {
    await buildServices().catch((err) => {
      console.error(`[sealmail] build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  }
}
