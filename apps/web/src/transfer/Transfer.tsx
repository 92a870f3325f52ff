import { useTranslation } from '@sealmail/ui';
import { Export } from './Export';
import { Import } from './Import';
import './transfer.css';

/** Settings → Export and import: both done on this device (docs/mail.md §10). */
export function Transfer({ address }: { address: string }) {
  const { t } = useTranslation();
  return (
    <section id="settings-transfer" aria-labelledby="transfer-title" className="account-section transfer">
      <h2 id="transfer-title">{t('settings.transfer')}</h2>
      <p className="sub">{t('transfer.intro')}</p>
      <Export address={address} />
      <Import address={address} />
    </section>
  );
}
