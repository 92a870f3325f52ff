import { useTranslation } from 'react-i18next';
import { languageName, languages, setLanguage } from './i18n';

/** The language of the web client on this device (remembered in localStorage); for a settings page. */
export function LanguagePicker() {
  const { t, i18n } = useTranslation();
  const value = i18n.resolvedLanguage ?? 'en';
  return (
    <label className="language-picker">
      {t('language.label')}
      <select value={value} onChange={(e) => void setLanguage(e.target.value)}>
        {languages.map((l) => (
          <option key={l} value={l} lang={l}>
            {languageName(l)}
          </option>
        ))}
      </select>
    </label>
  );
}
