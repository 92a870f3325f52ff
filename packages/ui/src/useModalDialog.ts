import { useEffect, useRef } from 'react';

/**
 * A native <dialog> shown modal while the component is mounted (showModal: what is behind it is
 * inert, Escape cancels it); on unmount it closes and focus goes back to where it was.
 */
export function useModalDialog() {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    const before = document.activeElement as HTMLElement | null;
    d?.showModal();
    return () => {
      d?.close();
      before?.focus();
    };
  }, []);
  return dialog;
}
