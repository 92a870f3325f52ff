/**
 * The web Calendar view for the month-view render benchmark (apps/api/bench/calendar.bench.ts):
 * the real Calendar component, its API answered in the page from `window.__bench` (set by the
 * benchmark before any script runs), so what is timed is the browser's work — grouping the
 * occurrences by day and rendering the month grid — not the network.
 */
import { createRoot } from 'react-dom/client';
import { i18nReady } from '@sealmail/ui';
import { Calendar } from '../src/calendar/Calendar';

void i18nReady.then(() => createRoot(document.getElementById('root')!).render(<Calendar onMail={() => undefined} />));
