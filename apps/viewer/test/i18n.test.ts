/** The viewer's catalogues (apps/viewer/src/locales, docs/i18n.md) and its tiny lookup. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSize, languages, pickLanguage, t } from '../src/i18n';

const dir = fileURLToPath(new URL('../src/locales/', import.meta.url));
const catalogues = Object.fromEntries(readdirSync(dir).map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(dir + f, 'utf8')) as Record<string, string>]));
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();

describe('viewer catalogues', () => {
  it('offers English, German and every other catalogue file', () => {
    expect([...languages].sort()).toEqual(Object.keys(catalogues).sort());
    expect(languages).toEqual(expect.arrayContaining(['en', 'de']));
  });

  for (const [lng, c] of Object.entries(catalogues)) {
    it(`${lng}: every English key, nothing empty, the same placeholders`, () => {
      expect(Object.keys(c).sort()).toEqual(Object.keys(catalogues.en!).sort());
      for (const [key, value] of Object.entries(c)) {
        expect(value.trim(), `${lng}: ${key}`).not.toBe('');
        expect(placeholders(value), `${lng}: ${key}`).toEqual(placeholders(catalogues.en![key]!));
      }
    });
  }

  it('picks the browser’s language and fills placeholders', () => {
    expect(pickLanguage(['de-DE', 'en'])).toBe('de');
    expect(pickLanguage(['fr'])).toBe('en');
    expect(t('download', { filename: 'plan.pdf', size: formatSize(3.4 * 1048576, 'de') }, 'de')).toBe('plan.pdf herunterladen (3,4 MB)');
    expect(t('download', { filename: 'plan.pdf', size: formatSize(12 * 1024, 'en') }, 'en')).toBe('Download plan.pdf (12 kB)');
  });
});
