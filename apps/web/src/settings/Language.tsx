import { LanguagePicker, useTranslation } from '@sealmail/ui';

/** The language of the client on this device (the picker and catalogues: packages/ui/src/i18n). */
export function Language() {
  const { t } = useTranslation();
  return (
    <section id="settings-language" aria-labelledby="language-title" className="account-section">
      <h2 id="language-title">{t('settings.language')}</h2>
      <LanguagePicker />
    </section>
  );
}
