import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from '@sealmail/ui';

export interface Toast {
  id: number;
  message: string;
  /** Offered as an Undo button while the message shows. */
  undo?: () => Promise<void> | void;
  /** How long it stays (default TOAST_MS): an undo send's toast stays as long as the mail is held. */
  ms?: number;
}

/** How long a message stays (paused while the pointer or keyboard focus is on it). */
export const TOAST_MS = 7000;

/** Transient status messages: `show` adds one; each clears itself after a few seconds. */
export function useToasts() {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const show = useCallback((message: string, undo?: Toast['undo'], ms?: number) => {
    const id = next.current++;
    // One message at a time reads best: a new one replaces the ones before it.
    setToasts([{ id, message, ...(undo ? { undo } : {}), ...(ms ? { ms } : {}) }]);
    return id;
  }, []);
  return { toasts, show, dismiss };
}

/**
 * The toast region: a live region (polite) at the bottom of the window. A message with an undoable
 * action offers Undo; the message clears itself after TOAST_MS, or at once with Dismiss.
 */
export function Toasts({ toasts, dismiss }: { toasts: Toast[]; dismiss: (id: number) => void }) {
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} dismiss={dismiss} />
      ))}
    </div>
  );
}

function ToastItem({ toast, dismiss }: { toast: Toast; dismiss: (id: number) => void }) {
  const { t } = useTranslation();
  const [held, setHeld] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (held) return;
    const t = setTimeout(() => dismiss(toast.id), toast.ms ?? TOAST_MS);
    return () => clearTimeout(t);
  }, [held, toast.id, toast.ms, dismiss]);
  return (
    <div className="toast" onMouseEnter={() => setHeld(true)} onMouseLeave={() => setHeld(false)} onFocusCapture={() => setHeld(true)} onBlurCapture={() => setHeld(false)}>
      <span>{toast.message}</span>
      {toast.undo && (
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void Promise.resolve(toast.undo!()).finally(() => dismiss(toast.id));
          }}
        >
          {t('toast.undo')}
        </button>
      )}
      <button type="button" className="dismiss" aria-label={t('toast.dismiss')} onClick={() => dismiss(toast.id)}>
        ×
      </button>
    </div>
  );
}
