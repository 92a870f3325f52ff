import { useState } from 'react';
import { useTranslation } from '@sealmail/ui';
import { notificationsWanted, setNotificationsWanted } from './prefs';

type State = 'unsupported' | 'off' | 'on' | 'blocked';
const current = (): State => {
  if (typeof Notification === 'undefined') return 'unsupported';
  if (Notification.permission === 'denied') return 'blocked';
  return notificationsWanted() && Notification.permission === 'granted' ? 'on' : 'off';
};

/**
 * Desktop notifications for new mail: off until the user asks (the browser's permission prompt
 * comes only from this click). Sender and subject are decrypted on this device; they show only
 * while the Sealmail tab is in the background.
 */
export function Notifications() {
  const { t } = useTranslation();
  const [state, setState] = useState<State>(current);
  async function turnOn() {
    const permission = await Notification.requestPermission();
    setNotificationsWanted(permission === 'granted');
    setState(current());
  }
  return (
    <section id="settings-notifications" aria-labelledby="notifications-title" className="account-section">
      <h2 id="notifications-title">{t('settings.notifications')}</h2>
      <p className="sub">{t('settings.notifyIntro')}</p>
      {state === 'unsupported' && <p>{t('settings.notifyUnsupported')}</p>}
      {state === 'blocked' && <p>{t('settings.notifyBlocked')}</p>}
      {state === 'off' && (
        <button type="button" onClick={() => void turnOn()}>
          {t('settings.notifyOn')}
        </button>
      )}
      {state === 'on' && (
        <>
          <p role="status">{t('settings.notifyIsOn')}</p>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setNotificationsWanted(false);
              setState(current());
            }}
          >
            {t('settings.notifyOff')}
          </button>
        </>
      )}
    </section>
  );
}
