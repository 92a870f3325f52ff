import { createContext, useCallback, useContext, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { useModalDialog } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });

type Guard = <T>(change: () => Promise<T>) => Promise<T>;
const ReauthContext = createContext<Guard>((change) => change());

/**
 * Sensitive switches (security settings, escrow, password resets) need a fresh
 * re-authentication: when the API answers REAUTH_REQUIRED, this asks for the password (and the
 * authenticator code when the admin has one), proves it (POST /api/v1/auth/reauth) and repeats
 * the change once.
 */
export function ReauthProvider({ totp, children }: { totp: boolean; children: ReactNode }) {
  const [pending, setPending] = useState<{ resolve: () => void; reject: (e: Error) => void } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const guard = useCallback<Guard>(async (change) => {
    try {
      return await change();
    } catch (err) {
      if ((err as { code?: string }).code !== 'REAUTH_REQUIRED') throw err;
      setProblem(null);
      await new Promise<void>((resolve, reject) => setPending({ resolve, reject }));
      return change();
    }
  }, []);

  async function confirm(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    setBusy(true);
    setProblem(null);
    try {
      await api.reauth(String(data.get('password')), totp ? String(data.get('code')) : undefined);
      pending?.resolve();
      setPending(null);
    } catch (err) {
      const code = err instanceof ApiClientError ? err.code : null;
      setProblem(
        code === 'PASSWORD_INCORRECT'
          ? 'That password is not right: type it again.'
          : code === 'TOTP_INVALID' || code === 'TOTP_REQUIRED'
            ? 'Type the code your authenticator app shows now (or an unused recovery code).'
            : err instanceof Error
              ? err.message
              : 'The server cannot be reached.',
      );
    } finally {
      setBusy(false);
    }
  }

  function cancel() {
    pending?.reject(new Error('Nothing was changed: this change needs your password again.'));
    setPending(null);
  }

  return (
    <ReauthContext.Provider value={guard}>
      {children}
      {pending && (
        <ModalDialog labelledBy="reauth-title" onCancel={cancel}>
          <h2 id="reauth-title">Confirm it is you</h2>
          <p>This is a sensitive change. Type your password{totp ? ' and a code from your authenticator app' : ''} again; it counts for 5 minutes.</p>
          <form onSubmit={confirm} aria-label="Confirm it is you">
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required autoFocus />
            </label>
            {totp && (
              <label>
                Authenticator code (or a recovery code)
                <input name="code" autoComplete="one-time-code" required />
              </label>
            )}
            <div className="buttons">
              <button type="submit" disabled={busy}>
                Confirm
              </button>
              <button type="button" className="secondary" onClick={cancel}>
                Cancel
              </button>
            </div>
          </form>
          {problem && <p role="alert">{problem}</p>}
        </ModalDialog>
      )}
    </ReauthContext.Provider>
  );
}

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: a native <dialog> opened with showModal(), so the console behind it is inert and
 * Escape (its cancel event) ends it wherever focus is. Tab and Shift+Tab go round its controls
 * rather than out of the page; on close, focus returns to where it was.
 */
function ModalDialog({ labelledBy, onCancel, children }: { labelledBy: string; onCancel: () => void; children: ReactNode }) {
  const dialog = useModalDialog();
  function keepTabInside(e: KeyboardEvent<HTMLDialogElement>) {
    if (e.key !== 'Tab' || !dialog.current) return;
    const all = Array.from(dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE));
    const first = all[0];
    const last = all[all.length - 1];
    if (!first || !last) return;
    const at = document.activeElement;
    if (e.shiftKey && (at === first || at === dialog.current)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && at === last) {
      e.preventDefault();
      first.focus();
    }
  }
  return (
    // The explicit role names it for tools that look for the attribute; the cancel event is Escape.
    <dialog ref={dialog} role="dialog" aria-modal="true" aria-labelledby={labelledBy} className="modal" onCancel={(e) => (e.preventDefault(), onCancel())} onKeyDown={keepTabInside}>
      {children}
    </dialog>
  );
}

/** Runs a sensitive change, asking for the password again when the server wants it. */
export const useReauth = () => useContext(ReauthContext);
