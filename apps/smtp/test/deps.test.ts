/**
 * mailauth 4.x pins an older nodemailer whose address parser has a published denial-of-service
 * advisory; pnpm-workspace.yaml overrides it with the workspace's nodemailer. This checks that the
 * copy mailauth actually loads is that one, and that its address parser still works for mailauth.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = createRequire(import.meta.url);
const mailauthDir = dirname(here.resolve('mailauth/package.json'));
const fromMailauth = createRequire(join(mailauthDir, 'lib', 'dkim', 'dkim-verifier.js'));

function packageVersionAbove(file: string, name: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version!;
    } catch {
      // keep walking up
    }
  }
  throw new Error(`no package.json of ${name} above ${file}`);
}

describe('mailauth dependencies', () => {
  it('loads the workspace nodemailer (10.6 or later), not its pinned 8.x', () => {
    const file = fromMailauth.resolve('nodemailer/lib/addressparser');
    const [major, minor] = packageVersionAbove(file, 'nodemailer').split('.').map(Number) as [number, number];
    expect(major * 100 + minor).toBeGreaterThanOrEqual(1006);
  });

  it("nodemailer's address parser keeps the shape mailauth calls", () => {
    const addressparser = fromMailauth('nodemailer/lib/addressparser') as (s: string) => { name: string; address: string }[];
    expect(addressparser('Ann <ann@example.test>, bob@example.test')).toEqual([
      { name: 'Ann', address: 'ann@example.test' },
      { name: '', address: 'bob@example.test' },
    ]);
  });
});
