import { useState, type FormEvent } from 'react';
import { keys } from '@sealmail/ui';

/** Offers bytes as a file download (made in the browser: the decrypted mail never leaves this device). */
function download(name: string, bytes: Uint8Array | string, type: string) {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

type Done = { user: string; caseRef: string; mbox: Uint8Array; manifest: string; messages: number; scanned: number };

/**
 * eDiscovery export: a user's mail for a date range, opened through escrow on this device under a
 * stated case reference (recorded in the change history and shown to the user), kept when it
 * contains any of the search terms, saved as an mbox and a manifest with SHA-256s.
 */
export function Discovery({ address }: { address: string }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<Done | null>(null);

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const user = String(f.get('user') ?? '').trim();
    const from = String(f.get('from') ?? '');
    const to = String(f.get('to') ?? '');
    const caseRef = String(f.get('caseRef') ?? '').trim();
    const terms = String(f.get('terms') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    if (!user) return setProblem('Enter the address of the user whose mail to export.');
    if (!from || !to) return setProblem('Choose the first and the last day of the range.');
    if (!caseRef) return setProblem('State the case reference: it is recorded with the opening and shown to the user.');
    const start = new Date(`${from}T00:00:00Z`);
    const end = new Date(new Date(`${to}T00:00:00Z`).getTime() + 86_400_000);
    if (!(start < end)) return setProblem('The last day must not come before the first day.');
    setBusy(true);
    setProblem(null);
    setDone(null);
    keys({ op: 'discoveryExport', address, user, from: start.toISOString(), to: end.toISOString(), terms, caseRef }).then(
      (r) => setDone({ user, caseRef, ...r }),
      (err: Error) => setProblem(err.message),
    ).finally(() => setBusy(false));
  }
  const base = done ? `discovery-${done.caseRef.replace(/[^\w.-]+/g, '_').slice(0, 60)}` : '';
  return (
    <section aria-label="Discovery export">
      <h2>eDiscovery export</h2>
      <p>Opens a user’s mail through escrow on this device. The case reference and the date range are recorded in the change history and listed to the user.</p>
      <form onSubmit={submit} aria-label="Export a user’s mail">
        <label>
          User (address)
          <input name="user" type="email" autoComplete="off" placeholder="name@example.test" />
        </label>
        <label>
          First day (UTC)
          <input name="from" type="date" />
        </label>
        <label>
          Last day (UTC, included)
          <input name="to" type="date" />
        </label>
        <label>
          Search terms (comma-separated; empty: every message)
          <input name="terms" type="text" autoComplete="off" />
        </label>
        <label>
          Case reference
          <input name="caseRef" type="text" autoComplete="off" maxLength={200} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Opening and decrypting…' : 'Export'}
        </button>
      </form>
      {done && (
        <div role="status">
          <p>
            {done.messages} of {done.scanned} message(s) of {done.user} in the range matched (case “{done.caseRef}”).
          </p>
          <button type="button" onClick={() => download(`${base}.mbox`, done.mbox, 'application/mbox')}>
            Save the mbox
          </button>{' '}
          <button type="button" onClick={() => download(`${base}-manifest.json`, done.manifest, 'application/json')}>
            Save the manifest
          </button>
        </div>
      )}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
