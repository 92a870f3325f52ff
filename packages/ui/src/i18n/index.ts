/**
 * The web client's translations (docs/i18n.md): one i18next instance, one catalogue file per
 * language in ../locales/<code>.json. English is bundled (it is also the fallback for a key a
 * catalogue lacks); every other language is loaded when chosen, so it costs nothing on first
 * paint for English readers. Adding a language is adding its catalogue file: it is found here by
 * file name and offered in the LanguagePicker under its own name (Intl.DisplayNames).
 *
 * The language is the one the user picked on this device (localStorage), else the first of the
 * browser's languages that has a catalogue, else English; `<html lang>` follows it.
 */
import i18next, { type BackendModule, type ResourceKey } from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from '../locales/en.json';

const lazy = import.meta.glob<{ default: ResourceKey }>(['../locales/*.json', '!../locales/en.json']);
const codeOf = (path: string) => path.slice(path.lastIndexOf('/') + 1, -'.json'.length);

/** Every language with a catalogue, English first. */
export const languages: readonly string[] = ['en', ...Object.keys(lazy).map(codeOf).sort()];
export const STORAGE_KEY = 'sealmail.language';

/** The best language for this browser: its stored choice, else its preferred languages in order. */
export function detectLanguage(preferred: readonly string[] = typeof navigator === 'undefined' ? [] : navigator.languages, stored: string | null = storedLanguage()): string {
  if (stored && languages.includes(stored)) return stored;
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    const hit = languages.find((l) => l.toLowerCase() === lower) ?? languages.find((l) => l.toLowerCase() === lower.split('-')[0]);
    if (hit) return hit;
  }
  return 'en';
}

function storedLanguage(): string | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Loads a non-English catalogue on demand (a separate chunk of the build). */
const backend: BackendModule = {
  type: 'backend',
  init: () => undefined,
  read(language, _namespace, callback) {
    if (language === 'en') return callback(null, en);
    const load = lazy[`../locales/${language}.json`];
    if (!load) return callback(null, {});
    load().then(
      (m) => callback(null, m.default),
      (err: Error) => callback(err, null),
    );
  },
};

export const i18n = i18next.createInstance();

/** Resolves once the chosen language's catalogue is loaded: render after it, and nothing flashes in English first. */
export const i18nReady: Promise<unknown> = i18n
  .use(backend)
  .use(initReactI18next)
  .init({
    lng: detectLanguage(),
    fallbackLng: 'en',
    supportedLngs: [...languages],
    partialBundledLanguages: true,
    resources: { en: { translation: en } },
    // React escapes what it renders; escaping here too would show "&amp;".
    interpolation: { escapeValue: false },
    react: { useSuspense: false },
    returnNull: false,
  });

function followLanguage(lng: string) {
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
}
i18n.on('languageChanged', followLanguage);
followLanguage(i18n.language ?? 'en');

/** Switches the language and remembers the choice on this device. */
export async function setLanguage(lng: string): Promise<void> {
  try {
    localStorage.setItem(STORAGE_KEY, lng);
  } catch {
    // Private mode without storage: the choice lasts until the page is closed.
  }
  await i18n.changeLanguage(lng);
}

/** A language's name in that language ("Deutsch", "English"), for the picker. */
export function languageName(lng: string): string {
  try {
    const name = new Intl.DisplayNames([lng], { type: 'language' }).of(lng) ?? lng;
    return name.charAt(0).toLocaleUpperCase(lng) + name.slice(1);
  } catch {
    return lng;
  }
}

const current = () => i18n.resolvedLanguage ?? i18n.language ?? 'en';

/** A date with time in the reader's language ("29 Nov 2026, 07:05" / "29.11.2026, 07:05"). */
export const formatDateTime = (value: string | number | Date) => i18n.t('format.dateTime', { value: new Date(value) });
/** A date alone. */
export const formatDate = (value: string | number | Date) => i18n.t('format.date', { value: new Date(value) });
/** A time of day alone. */
export const formatTime = (value: string | number | Date) => i18n.t('format.time', { value: new Date(value) });

/**
 * A size as people read it: "512 bytes", "12 kB", "3.4 MB", "1.2 GB" (binary multiples, the way
 * file managers count), in the reader's number format; never "0.0 MB".
 */
export function formatSize(bytes: number, lng: string = current()): string {
  const units = ['kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
  if (bytes < 1024) return new Intl.NumberFormat(lng, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(bytes);
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  // One decimal below 10 ("3.4 MB"), none above ("12 KB", "250 MB").
  const digits = value < 10 && i > 0 ? 1 : 0;
  return new Intl.NumberFormat(lng, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: digits }).format(value);
}

/** A plain number in the reader's format ("1,234" / "1.234"). */
export const formatNumber = (n: number) => new Intl.NumberFormat(current()).format(n);

export { describeError, endedMessage, type DescribableError } from './errors';
