/**
 * The web client's catalogues (packages/ui/src/locales, docs/i18n.md) and the error messages
 * people read: every English key has a translation in every other language, nothing is empty,
 * placeholders match, and every API registry code maps to a person-written message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCodes, errorRegistry } from '@sealmail/contract';
import { describeError, detectLanguage, endedMessage, formatSize, i18n, i18nReady, languages } from '@sealmail/ui/i18n';

type Catalogue = { [key: string]: string | Catalogue };
const dir = fileURLToPath(new URL('../../../packages/ui/src/locales/', import.meta.url));
const catalogues = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), JSON.parse(readFileSync(dir + f, 'utf8')) as Catalogue]));

function flatten(c: Catalogue, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();
const english = flatten(catalogues.en!);

describe('catalogues', () => {
  it('has English and German, and offers every catalogue file as a language', () => {
    expect(Object.keys(catalogues)).toEqual(expect.arrayContaining(['en', 'de']));
    expect([...languages].sort()).toEqual(Object.keys(catalogues).sort());
  });

  for (const [lng, catalogue] of Object.entries(catalogues)) {
    it(`${lng}: no empty string, every English key present, the same placeholders`, () => {
      const flat = flatten(catalogue);
      for (const [key, value] of flat) expect(value.trim(), `${lng}: ${key}`).not.toBe('');
      expect([...english.keys()].filter((k) => !flat.has(k)), `${lng} lacks these keys`).toEqual([]);
      expect([...flat.keys()].filter((k) => !english.has(k)), `${lng} has keys English lacks`).toEqual([]);
      for (const [key, value] of english) expect(placeholders(flat.get(key) ?? ''), `${lng}: ${key}`).toEqual(placeholders(value));
    });
  }
});

describe('error messages', () => {
  it('maps every code of the API error registry to its own message in every language, never the server text', async () => {
    await i18nReady;
    for (const lng of languages) {
      await i18n.changeLanguage(lng);
      for (const code of errorCodes) {
        const text = describeError({ code, message: errorRegistry[code].message });
        expect(i18n.exists(`errors.${code}`, { lng, fallbackLng: [] }), `${lng}: errors.${code}`).toBe(true);
        expect(text).not.toBe(i18n.t('errors.unknown', { code }));
        if (lng !== 'en') expect(text, `${lng}: ${code}`).not.toBe(errorRegistry[code].message);
      }
    }
    await i18n.changeLanguage('en');
  });

  it('names the field and quotes the value the server refused', async () => {
    await i18n.changeLanguage('en');
    expect(describeError({ code: 'VALIDATION_FAILED', field: 'body.to.1', message: 'Invalid email' }, { to: ['ann@example.org', 'bob@'] })).toBe('The To field is not valid: check “bob@”.');
    expect(describeError({ code: 'VALIDATION_FAILED', field: 'body.subject' })).toBe('The Subject field is not valid: check what you typed there.');
    await i18n.changeLanguage('de');
    expect(describeError({ code: 'VALIDATION_FAILED', field: 'body.addresses.0' }, { to: ['bob@'] })).toBe('Das Feld „An“ ist ungültig: Prüfen Sie „bob@“.');
    await i18n.changeLanguage('en');
  });

  it('has a fallback written for a person, and explains a revoked device', async () => {
    await i18n.changeLanguage('en');
    expect(describeError({ code: 'SOMETHING_NEW', message: '"x" expected 3' })).toMatch(/^Something went wrong \(code SOMETHING_NEW\)\. Try again/);
    expect(describeError(new Error('boom'))).not.toContain('boom');
    expect(endedMessage({ code: 'DEVICE_REVOKED' })).toMatch(/removed from the account.*Sign in again/);
  });
});

describe('language and formats', () => {
  it('follows the browser’s languages unless the user chose one on this device', () => {
    expect(detectLanguage(['de-DE', 'en'], null)).toBe('de');
    expect(detectLanguage(['fr-FR', 'en-GB'], null)).toBe('en');
    expect(detectLanguage(['fr-FR'], null)).toBe('en');
    expect(detectLanguage(['de-DE'], 'en')).toBe('en');
  });

  it('formats sizes sensibly in each language', () => {
    expect(formatSize(512, 'en')).toBe('512 bytes');
    expect(formatSize(2_000, 'en')).toBe('2 kB');
    expect(formatSize(12 * 1024, 'en')).toBe('12 kB');
    expect(formatSize(3.4 * 1048576, 'en')).toBe('3.4 MB');
    expect(formatSize(250 * 1048576, 'en')).toBe('250 MB');
    expect(formatSize(3.4 * 1048576, 'de')).toBe('3,4 MB');
    expect(formatSize(1, 'de')).toMatch(/^1\sByte$/);
  });
});
