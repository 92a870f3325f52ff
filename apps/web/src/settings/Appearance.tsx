import { useState } from 'react';
import { chooseTheme, storedTheme, type Theme } from './prefs';

const CHOICES: { id: Theme; label: string }[] = [
  { id: 'system', label: 'Follow the system' },
  { id: 'light', label: 'Light' },
  { id: 'dark', label: 'Dark' },
];

/** Light, dark, or whatever the system uses; remembered in this browser. */
export function Appearance() {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  return (
    <section id="settings-appearance" aria-labelledby="appearance-title" className="account-section">
      <h2 id="appearance-title">Appearance</h2>
      <fieldset className="choices">
        <legend>Theme</legend>
        {CHOICES.map((c) => (
          <label key={c.id}>
            <input
              type="radio"
              name="theme"
              value={c.id}
              checked={theme === c.id}
              onChange={() => {
                setTheme(c.id);
                chooseTheme(c.id);
              }}
            />{' '}
            {c.label}
          </label>
        ))}
      </fieldset>
      <p className="hint">Remembered in this browser.</p>
    </section>
  );
}
