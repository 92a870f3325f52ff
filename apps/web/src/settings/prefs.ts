/**
 * Preferences of this browser (not of the account): the colour theme and whether new mail shows
 * desktop notifications. Kept in localStorage; nothing here is secret.
 */
export type Theme = 'light' | 'dark' | 'system';
const THEME_KEY = 'sealmail.theme';
const NOTIFY_KEY = 'sealmail.notifications';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
function write(key: string, value: string | null) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage refused (private mode): the choice lasts for this page only.
  }
}

export function storedTheme(): Theme {
  const t = read(THEME_KEY);
  return t === 'light' || t === 'dark' ? t : 'system';
}

const systemDark = () => typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;

/** Puts the theme on <html data-theme>, which switches the colour custom properties (ui.css). */
export function applyTheme(theme: Theme = storedTheme()): void {
  document.documentElement.dataset.theme = theme === 'system' ? (systemDark() ? 'dark' : 'light') : theme;
}

export function chooseTheme(theme: Theme): void {
  write(THEME_KEY, theme === 'system' ? null : theme);
  applyTheme(theme);
}

/** Applies the stored theme now and follows the system's when the user chose to. */
export function startTheme(): void {
  applyTheme();
  if (typeof matchMedia === 'function') matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => storedTheme() === 'system' && applyTheme('system'));
}

/** True when the user turned notifications on here and the browser allows them. */
export function notificationsOn(): boolean {
  return read(NOTIFY_KEY) === 'on' && typeof Notification !== 'undefined' && Notification.permission === 'granted';
}
export function notificationsWanted(): boolean {
  return read(NOTIFY_KEY) === 'on';
}
export function setNotificationsWanted(on: boolean): void {
  write(NOTIFY_KEY, on ? 'on' : null);
}
