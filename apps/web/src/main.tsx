import './autofocus';
import { StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { i18nReady } from '@sealmail/ui';
import { App } from './App';
// The shared focus ring and screen-reader text, for the first screen too (the rest of
// @sealmail/ui loads behind sign-in).
import '@sealmail/ui/ui.css';
import './styles.css';
import { startTheme } from './settings/prefs';

// The chosen colour theme before the first paint (no flash of the other one).
startTheme();

// The chosen language's catalogue first (German is a chunk of its own), so nothing flashes in English.
void i18nReady.finally(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <Suspense fallback={<main className="signin" />}>
        <App />
      </Suspense>
    </StrictMode>,
  ),
);

// The service worker keeps the app shell (never mail or API answers) for fast, offline starts.
// Only in a build: /sw.js is written by `vite build` (tools/vite/front-end.ts).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => undefined));
}
