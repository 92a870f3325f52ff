/**
 * The architecture rules of MISSION §1 are enforced by lint. Each fixture below breaks one rule
 * (or respects it) at a file path where the rule applies; ESLint runs with the repository's own
 * configuration, so a rule that stops working fails here.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId?.startsWith('sealmail/')).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('architecture lint', () => {
  it.each([
    ['apps/web/src/fixture.ts', "import { ed25519 } from '@noble/curves/ed25519.js';\nexport const k = ed25519;\n", /Only packages\/crypto may import @noble/],
    ['packages/client/src/fixture.ts', "import { sha256 } from '@noble/hashes/sha2.js';\nexport const h = sha256;\n", /Only packages\/crypto/],
    ['apps/api/src/fixture.ts', "export const load = () => import('@noble/ciphers/chacha.js');\n", /Only packages\/crypto/],
    ['packages/client/src/fixture.ts', "import { buildApp } from '@sealmail/api';\nexport const b = buildApp;\n", /A package may not import an app/],
    ['packages/db/src/fixture.ts', "import { x } from '../../../apps/smtp/src/server';\nexport const y = x;\n", /A package may not import an app's code/],
    ['apps/web/src/fixture.ts', "import { run } from '../../cli/src/cli';\nexport const r = run;\n", /An app may not import another app's internals/],
    ['apps/admin/src/fixture.ts', "import { SignIn } from '@sealmail/web';\nexport const s = SignIn;\n", /An app may not import another app/],
    ['apps/api/src/fixture.ts', "import { errorRegistry } from '../../../packages/contract/src/errors';\nexport const e = errorRegistry;\n", /by name/],
    ['apps/api/src/fixture.ts', "import { errorRegistry } from '@sealmail/contract/src/errors';\nexport const e = errorRegistry;\n", /public entry/],
    ['apps/api/src/fixture.ts', 'export const url = process.env.DATABASE_URL;\n', /not process\.env/],
    ['packages/db/src/fixture.ts', "export const url = process.env['DATABASE_URL'];\n", /not process\.env/],
    ['apps/smtp/src/fixture.ts', "import { env } from 'node:process';\nexport const e = env;\n", /not process\.env/],
    ['apps/cli/src/fixture.ts', 'const { env } = process;\nexport const e = env;\n', /not process\.env/],
    ['apps/api/src/fixture.ts', 'export const e = globalThis.process.env;\n', /not process\.env/],
  ])('rejects %s: %s', async (file, code, expected) => {
    const messages = await lint(file, code);
    expect(messages.length).toBe(1);
    expect(messages[0]).toMatch(expected);
  });

  it.each([
    ['packages/crypto/src/fixture.ts', "import { ed25519 } from '@noble/curves/ed25519.js';\nexport const k = ed25519;\n"],
    ['packages/server/src/config.ts', 'export const url = process.env.DATABASE_URL;\n'],
    ['apps/api/src/fixture.ts', "import { errorRegistry } from '@sealmail/contract';\nimport { x } from './http/errors';\nexport const e = [errorRegistry, x];\n"],
    ['packages/client/src/fixture.ts', "import { routes } from '@sealmail/contract';\nexport const r = routes;\n"],
  ])('allows %s', async (file, code) => {
    expect(await lint(file, code)).toEqual([]);
  });
});
