/**
 * The viewer's translations (docs/i18n.md): the same catalogue format as the web client
 * (i18next JSON, `{{name}}` placeholders), one file per language in ./locales, looked up here
 * without a library so the viewer stays within its size budget. The language is the first of
 * the browser's languages that has a catalogue, else English; `<html lang>` follows.
 */
type Catalogue = Record<string, string>;
const catalogues = Object.fromEntries(
  Object.entries(import.meta.glob<Catalogue>('./locales/*.json', { eager: true, import: 'default' })).map(([path, c]) => [path.slice(path.lastIndexOf('/') + 1, -'.json'.length), c]),
);
export const languages = Object.keys(catalogues);

/** The best language for these preferences ("de-DE" → "de"); English when none has a catalogue. */
export function pickLanguage(preferred: readonly string[]): string {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    const hit = languages.find((l) => l === lower) ?? languages.find((l) => l === lower.split('-')[0]);
    if (hit) return hit;
  }
  return 'en';
}

export const language = pickLanguage(typeof navigator === 'undefined' ? [] : navigator.languages);

/** A message of the catalogue with its placeholders filled; English when the language lacks it. */
export function t(key: string, values: Record<string, string> = {}, lng = language): string {
  const text = catalogues[lng]?.[key] ?? catalogues['en']?.[key] ?? key;
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => values[name] ?? '');
}

/** A date and time in the reader's language. */
export const formatDateTime = (value: string | Date, lng = language) => new Intl.DateTimeFormat(lng, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(value));

/** A size as people read it ("512 bytes", "12 kB", "3.4 MB"), as the web client shows it. */
export function formatSize(bytes: number, lng = language): string {
  if (bytes < 1024) return new Intl.NumberFormat(lng, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(bytes);
  const units = ['kilobyte', 'megabyte', 'gigabyte'] as const;
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return new Intl.NumberFormat(lng, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: value < 10 && i > 0 ? 1 : 0 }).format(value);
}
