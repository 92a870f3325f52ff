import { linkIdFromPath, parseFragment, takeFragment } from './fragment';
import './styles.css';

const state = document.getElementById('state')!;
const secret = parseFragment(takeFragment(window.location, window.history));
const id = linkIdFromPath(window.location.pathname);

function show(text: string, kind: 'error' | 'info' = 'info') {
  state.textContent = text;
  state.className = kind;
}

async function open(): Promise<void> {
  if (!id || !secret) {
    show('This link is incomplete. Open it exactly as it arrived in your mail.', 'error');
    return;
  }
  // Only the link id goes to the server; the password and digest stay in this page.
  const res = await fetch(`/api/v1/links/${encodeURIComponent(id)}`, { credentials: 'omit', referrerPolicy: 'no-referrer' });
  if (res.status === 404 || res.status === 410) {
    show('This message does not exist or has expired.', 'error');
    return;
  }
  if (!res.ok) {
    show('The message cannot be fetched right now. Try again later.', 'error');
    return;
  }
  show('The message was fetched; this server cannot decrypt it for you yet.', 'error');
}

open().catch(() => show('The message cannot be fetched right now. Try again later.', 'error'));
