import { useState } from 'react';
import { useTranslation } from '@sealmail/ui';
import { chooseTheme, storedTheme, type Theme } from './prefs';

const CHOICES: { id: Theme; label: string }[] = [
  { id: 'system', label: 'settings.themeSystem' },
  { id: 'light', label: 'settings.themeLight' },
  { id: 'dark', label: 'settings.themeDark' },
];

/** Light, dark, or whatever the system uses; remembered in this browser. */
export function Appearance() {
  const { t } = useTranslation();
  const [theme, setTheme] = useState<Theme>(storedTheme);
  return (
    <section id="settings-appearance" aria-labelledby="appearance-title" className="account-section">
      <h2 id="appearance-title">{t('settings.appearance')}</h2>
      <fieldset className="choices">
        <legend>{t('settings.theme')}</legend>
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
            {t(c.label)}
          </label>
        ))}
      </fieldset>
      <p className="hint">{t('settings.remembered')}</p>
    </section>
  );
}
