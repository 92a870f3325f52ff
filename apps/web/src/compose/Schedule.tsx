import { useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from '@sealmail/ui';

const pad = (n: number) => String(n).padStart(2, '0');
/** A Date as the value of a datetime-local input (the device's time zone). */
const localValue = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

/** Tomorrow at 08:00 on this device. */
const tomorrowMorning = () => {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(8, 0, 0, 0);
  return d;
};

/**
 * "Send later": pick a time; the mail is sealed now and the server holds it in the Outbox until
 * then (it leaves even if every device is off).
 */
export function Schedule({ disabled, onSchedule }: { disabled: boolean; onSchedule: (at: Date) => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState(() => localValue(tomorrowMorning()));
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => {
    if (open) input.current?.focus();
  }, [open]);

  const submit = () => {
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) return setProblem(t('composeTools.scheduleBad'));
    if (at.getTime() < Date.now() + 30_000) return setProblem(t('composeTools.schedulePast'));
    setProblem(null);
    setOpen(false);
    onSchedule(at);
  };

  return (
    <span className="schedule">
      <button type="button" className="secondary" disabled={disabled} aria-expanded={open} onClick={() => setOpen(!open)}>
        {t('composeTools.sendLater')}
      </button>
      {open && (
        <span className="schedule-form" role="group" aria-label={t('composeTools.sendLater')} onKeyDown={(e) => (e.key === 'Enter' ? (e.preventDefault(), submit()) : e.key === 'Escape' ? (e.stopPropagation(), setOpen(false)) : undefined)}>
          <label>
            {t('composeTools.sendAt')} <input ref={input} type="datetime-local" value={value} min={localValue(new Date())} onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
          <button type="button" onClick={submit}>
            {t('composeTools.schedule')}
          </button>
          {problem && <span role="alert">{problem}</span>}
        </span>
      )}
    </span>
  );
}
