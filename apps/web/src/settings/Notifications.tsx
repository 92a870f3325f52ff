import { useState } from 'react';
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
  const [state, setState] = useState<State>(current);
  async function turnOn() {
    const permission = await Notification.requestPermission();
    setNotificationsWanted(permission === 'granted');
    setState(current());
  }
  return (
    <section id="settings-notifications" aria-labelledby="notifications-title" className="account-section">
      <h2 id="notifications-title">Notifications</h2>
      <p className="sub">A desktop notification with the sender and subject when new mail arrives while Sealmail is open in a tab you are not looking at. Sender and subject are decrypted on this device.</p>
      {state === 'unsupported' && <p>This browser cannot show desktop notifications.</p>}
      {state === 'blocked' && <p>This browser blocks notifications from Sealmail: allow them in the browser’s site settings, then come back here.</p>}
      {state === 'off' && (
        <button type="button" onClick={() => void turnOn()}>
          Turn on desktop notifications
        </button>
      )}
      {state === 'on' && (
        <>
          <p role="status">Desktop notifications are on in this browser.</p>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setNotificationsWanted(false);
              setState(current());
            }}
          >
            Turn off desktop notifications
          </button>
        </>
      )}
    </section>
  );
}
