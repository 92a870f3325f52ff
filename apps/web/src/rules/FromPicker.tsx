import { useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { sendAddresses } from '@sealmail/contract';
import { useTranslation } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
const base = (a: string) => a.toLowerCase().replace(/\+[^@]*@/, '@');

/**
 * The address a reply goes from: the one of the user's own addresses (or a +tag form of one) that
 * the answered mail came to; null for the user's own address.
 */
export function replyFrom(own: readonly string[], came: readonly string[]): string | null {
  const mine = new Set(own.map((a) => a.toLowerCase()));
  const hit = came.find((a) => mine.has(base(a)));
  return hit && hit.toLowerCase() !== own[0]?.toLowerCase() ? hit.toLowerCase() : null;
}

/**
 * Compose's From: the user's own address and the aliases an admin gave them (the server refuses
 * any other). Shown only when there is a choice; a reply starts from the address it came to.
 */
export function FromPicker({ value, onChange, cameTo }: { value: string | null; onChange: (from: string | null) => void; cameTo: readonly string[] }) {
  const { t } = useTranslation();
  const [own, setOwn] = useState<string[] | null>(null);
  useEffect(() => {
    void api.call(sendAddresses).then(
      (r) => {
        const all = [r.primary, ...r.aliases];
        setOwn(all);
        const reply = replyFrom(all, cameTo);
        if (reply) onChange(reply);
      },
      () => setOwn(null),
    );
    // Once per compose window.
  }, []);
  const options = own ? [...own, ...(value && !own.includes(value) ? [value] : [])] : [];
  if (options.length < 2) return null;
  return (
    <label className="from-picker">
      <span>{t('rules.from')}</span>
      <select value={value ?? own![0]} onChange={(e) => onChange(e.currentTarget.value === own![0] ? null : e.currentTarget.value)}>
        {options.map((a) => (
          <option key={a} value={a}>
            {a}
          </option>
        ))}
      </select>
    </label>
  );
}
