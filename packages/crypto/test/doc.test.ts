/**
 * Keeps docs/crypto.md true to the code: every label, context and box purpose in src/ is
 * documented; every error code is documented and used; every cited section exists.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const doc = readFileSync(fileURLToPath(new URL('../../../docs/crypto.md', import.meta.url)), 'utf8');
const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts'));
const src = Object.fromEntries(files.map((f) => [f, readFileSync(srcDir + f, 'utf8')]));
const all = Object.values(src).join('\n');

describe('docs/crypto.md is true to the code', () => {
  it('documents every sealmail/v1 label', () => {
    const labels = new Set([...all.matchAll(/'(sealmail\/v1\/[a-z0-9/-]*?)(?:\\0)?'/g)].map((m) => m[1]!.replace(/\/$/, '')));
    expect(labels.size).toBeGreaterThan(8);
    for (const l of labels) expect(doc, l).toContain(l);
  });

  it('documents every box purpose and signature context', () => {
    const purposes = new Set([...all.matchAll(/purpose: '([a-z-]+)'/g)].map((m) => m[1]!));
    const contexts = new Set([...all.matchAll(/signWithContext\([^,]+, '([a-z-]+)'/g)].map((m) => m[1]!));
    contexts.add('mail-digest'); // passed through a constant in mail-seal.ts
    expect(purposes.size).toBeGreaterThanOrEqual(5);
    for (const p of [...purposes, ...contexts]) expect(doc, p).toContain(`\`${p}\``);
  });

  it('documents and uses every error code', () => {
    const codes = [...src['errors.ts']!.matchAll(/\| '([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(codes).toContain('DECRYPTION_FAILED');
    const section8 = doc.slice(doc.indexOf('## 8. Errors'));
    for (const c of codes) {
      expect(section8, c).toContain(`\`${c}\``);
      const uses = files.filter((f) => f !== 'errors.ts' && src[f]!.includes(`'${c}'`));
      expect(uses.length, `${c} used`).toBeGreaterThan(0);
    }
  });

  it('names only tests that exist: every file and test of the threat table (§1.1) and every test file it mentions', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const table = doc.slice(doc.indexOf('### 1.1 Threat table'), doc.indexOf('## 2. Conventions'));
    const named = [...table.matchAll(/`([\w./-]+\.test\.ts)` › "([^"]+)"/g)];
    expect(named.length).toBeGreaterThanOrEqual(12);
    for (const [, file, name] of named) {
      const text = readFileSync(root + file!, 'utf8');
      expect(text, `${file} › ${name}`).toContain(`'${name!}'`);
    }
    for (const [, file] of doc.matchAll(/`((?:apps|packages|e2e)\/[\w./-]+\.test\.ts)`/g)) expect(() => readFileSync(root + file!), file).not.toThrow();
  });

  it('every section cited by the code exists in the document', () => {
    const cited = new Set([...all.matchAll(/docs\/crypto\.md §([0-9.]+[0-9])/g)].map((m) => m[1]!));
    expect(cited.size).toBeGreaterThan(10);
    for (const c of cited) expect(doc, `§${c}`).toMatch(new RegExp(`^#+ ${c.replace(/\./g, '\\.')}[ .]`, 'm'));
  });
});
