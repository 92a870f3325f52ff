#!/usr/bin/env node
// The two README commands start here: `npm start` and `npm test`.
// Uses only Node built-ins, so it runs on a fresh machine with nothing but Node and npm:
// it makes sure pnpm is there, installs the workspace when needed, then hands over.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const pnpmVersion = pkg.config.pnpm;

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function pnpmCommand() {
  if (has('pnpm', ['--version'])) return ['pnpm'];
  console.log(`[sealmail] pnpm not found; installing pnpm@${pnpmVersion} with npm`);
  const g = spawnSync('npm', ['install', '-g', `pnpm@${pnpmVersion}`], { stdio: 'inherit' });
  if (g.status === 0 && has('pnpm', ['--version'])) return ['pnpm'];
  // No rights for a global install: run it through npx instead.
  return ['npx', '--yes', `pnpm@${pnpmVersion}`];
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], { stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const pnpm = pnpmCommand();
const marker = join('node_modules', '.modules.yaml');
const stale = !existsSync(marker) || statSync('pnpm-lock.yaml').mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  console.log('[sealmail] installing dependencies (pnpm install --frozen-lockfile)');
  run(pnpm, ['install', '--frozen-lockfile']);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'start') {
  // Production form: the services run compiled (dist/*.mjs, no TypeScript loader at run time);
  // built here when a source is newer than the bundles.
  run([process.execPath], ['scripts/build-services.mjs', '--if-stale']);
  // The launcher owns its children; forward signals so Ctrl-C stops everything.
  const child = spawn(process.execPath, ['dist/start.mjs', ...rest], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
} else if (command === 'test') {
  run(pnpm, ['run', 'check', ...rest]);
} else {
  console.error('usage: node scripts/bootstrap.mjs start|test');
  process.exit(64);
}
