import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AdminSignIn } from './AdminSignIn';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AdminSignIn />
  </StrictMode>,
);
