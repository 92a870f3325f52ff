import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { i18nReady } from '@sealmail/ui';
import { App } from './App';
import './styles.css';

// The chosen language's catalogue first (German is a chunk of its own), so nothing flashes in English.
void i18nReady.finally(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
