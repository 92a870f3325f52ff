/**
 * Compiles bench/server-child.ts the way scripts/build-services.mjs compiles the SMTP process
 * for production (one esbuild bundle of the workspace's TypeScript, npm packages imported from
 * where pnpm installed them, no TypeScript loader at run time), so the bench measures the code
 * path that ships. Returns the bundle's path (in `outdir`).
 */
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Workspace sources bundled; npm packages external, by their installed absolute path. */
const workspaceOnly: Plugin = {
  name: 'sealmail-bench-externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:') || (args.pluginData as { sealmail?: boolean } | undefined)?.sealmail) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { sealmail: true } });
      if (r.errors.length) return { errors: r.errors };
      if (r.external && !r.path.startsWith('/')) return { path: r.path, external: true };
      if (!r.path.split(sep).includes('node_modules')) return { path: r.path };
      return { path: pathToFileURL(r.path).href, external: true };
    });
    // import.meta.url in a bundled file: that source file's own URL (as build-services.mjs does).
    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

export async function buildBenchChild(outdir: string): Promise<string> {
  const outfile = join(outdir, 'server-child.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: [fileURLToPath(new URL('./server-child.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [workspaceOnly],
    define: { __SEALMAIL_COMPILED__: 'true' },
  });
  return outfile;
}
