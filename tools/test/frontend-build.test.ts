/**
 * The start command reuses a front end's build when nothing it is built from changed
 * (scripts/frontend-build.ts). On a throw-away tree shaped like the repository: the first start
 * builds all three, the next reuses them, and a change to an app's source, a workspace package's
 * source or the lockfile — or a missing build — builds again.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrontEnds, inputsHash } from '../../scripts/frontend-build';

let root: string;
const builds: string[] = [];
const build = async (app: string) => {
  builds.push(app);
  await mkdir(join(root, 'apps', app, 'dist'), { recursive: true });
  await writeFile(join(root, 'apps', app, 'dist', 'index.html'), `<!doctype html>${app}`);
};
const put = async (path: string, text: string) => {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), text);
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealmail-fe-'));
  for (const app of ['web', 'admin', 'viewer']) await put(`apps/${app}/src/main.tsx`, `export const app = '${app}';`);
  await put('packages/ui/src/ui.css', 'body {}');
  await put('packages/ui/package.json', '{}');
  await put('tools/vite/front-end.ts', 'export {};');
  await put('pnpm-lock.yaml', 'lockfileVersion: 9');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('front-end builds', () => {
  it('builds once, then reuses while nothing changed', async () => {
    expect(await buildFrontEnds(root, build)).toMatchObject({ reused: [] });
    expect(builds.sort()).toEqual(['admin', 'viewer', 'web']);
    builds.length = 0;
    expect((await buildFrontEnds(root, build)).reused.sort()).toEqual(['admin', 'viewer', 'web']);
    expect(builds).toEqual([]);
  });

  it('builds again what an app change, a package change or a lockfile change touches, and a missing build', async () => {
    await put('apps/web/src/main.tsx', "export const app = 'web 2';");
    expect((await buildFrontEnds(root, build)).built).toEqual(['web']);
    await put('packages/ui/src/ui.css', 'body { color: black }');
    expect((await buildFrontEnds(root, build)).built.sort()).toEqual(['admin', 'viewer', 'web']);
    await put('pnpm-lock.yaml', 'lockfileVersion: 9\n# a new dependency');
    expect((await buildFrontEnds(root, build)).built).toHaveLength(3);
    await rm(join(root, 'apps', 'admin', 'dist', 'index.html'));
    expect((await buildFrontEnds(root, build)).built).toEqual(['admin']);
    // Its own output does not count as input.
    const before = await inputsHash(root, 'viewer');
    await put('apps/viewer/dist/assets/x.js', 'built');
    expect(await inputsHash(root, 'viewer')).toBe(before);
  });
});
