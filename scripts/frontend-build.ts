/**
 * Vite builds of the web client, admin console and link viewer, done only when their inputs
 * changed. Each build leaves a stamp in its `dist` (a SHA-256 over the paths and contents of
 * every file a front end is built from: its own folder, the workspace packages' sources, the
 * shared Vite plugins, the lockfile); a start whose stamp matches reuses the build. The test
 * suite starts the whole service once per end-to-end file, and three production builds each time
 * were minutes of every CI run for the same bytes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { childEnvironment } from '@sealmail/server';

export const FRONT_ENDS = ['web', 'admin', 'viewer'] as const;
const STAMP = '.sealmail-build';
const SKIP = new Set(['node_modules', 'dist', '.turbo', 'coverage', 'screenshots']);

async function files(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The hash of everything `app` is built from (the same inputs for a given checkout and environment). */
export async function inputsHash(root: string, app: string): Promise<string> {
  const packages = (await readdir(join(root, 'packages'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => join(root, 'packages', d.name));
  const dirs = [join(root, 'apps', app), join(root, 'tools', 'vite'), ...packages.flatMap((p) => [join(p, 'src')])];
  const single = [join(root, 'pnpm-lock.yaml'), join(root, 'tsconfig.base.json'), ...packages.map((p) => join(p, 'package.json'))];
  const all = [...(await Promise.all(dirs.map(files))).flat(), ...single].sort();
  const h = createHash('sha256');
  for (const f of all) {
    const content = await readFile(f).catch(() => null);
    if (!content) continue;
    h.update(relative(root, f)).update('\0').update(content).update('\0');
  }
  return h.digest('hex');
}

/**
 * Builds each front end whose stamp does not match its inputs (`build(app)` runs Vite in
 * `apps/<app>`), then writes the stamp. Answers which were built and which reused.
 */
export async function buildFrontEnds(root: string, build: (app: string) => Promise<void>): Promise<{ built: string[]; reused: string[] }> {
  const built: string[] = [];
  const reused: string[] = [];
  await Promise.all(
    FRONT_ENDS.map(async (app) => {
      const want = await inputsHash(root, app);
      const stampFile = join(root, 'apps', app, 'dist', STAMP);
      const have = await readFile(stampFile, 'utf8').catch(() => '');
      const index = await readFile(join(root, 'apps', app, 'dist', 'index.html')).catch(() => null);
      if (have.trim() === want && index) {
        reused.push(app);
        return;
      }
      await build(app);
      await writeFile(stampFile, want + '\n');
      built.push(app);
    }),
  );
  return { built, reused };
}

/** A production Vite build of `apps/<app>` (in a child process). */
export function viteBuild(root: string, app: string): Promise<void> {
  const args = [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'];
  const cwd = join(root, 'apps', app);
  return new Promise((resolve, reject) => {
    // Production builds whatever NODE_ENV this command runs under (a test runner sets `test`,
    // which would give development builds and no service worker).
    const p = spawn(process.execPath, args, { cwd, env: childEnvironment({ NODE_ENV: 'production' }), stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed in ${cwd} (exit ${code})`))));
  });
}

/** Every front end built with Vite unless its stamp matches (the start command, the e2e suite's set-up). */
export function ensureFrontEnds(root: string): Promise<{ built: string[]; reused: string[] }> {
  return buildFrontEnds(root, (app) => viteBuild(root, app));
}
