import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { i18nReady } from '@sealmail/ui';
import { App } from './App';
import './styles.css';
import { startTheme } from './settings/prefs';

// The chosen colour theme before the first paint (no flash of the other one).
startTheme();

// The chosen language's catalogue first (German is a chunk of its own), so nothing flashes in English.
void i18nReady.finally(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
