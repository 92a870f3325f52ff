/**
 * What a person reads when something fails: every API registry code
 * (packages/contract/src/errors.ts), every code the key worker passes on (identity, crypto,
 * mail), and the network, each mapped to a sentence in the catalogue (`errors.<CODE>`) that says
 * what happened and what to do. A field the server names (VALIDATION_FAILED with `field`, e.g.
 * `body.to.0`) is named too, with the value that was typed when the caller passes it. No raw
 * server or library text reaches the screen; an unknown code gets a sentence still written for a person.
 */
import { i18n } from './index';

export interface DescribableError {
  code?: string;
  field?: string;
  message?: string;
}

/** Where the server's field paths lead in the catalogue's `fields` (the form labels people see). */
const FIELD_ALIASES: Record<string, string> = {
  addresses: 'to',
  recipients: 'to',
  recipient: 'to',
  newPassword: 'next',
  currentPassword: 'current',
  code: 'totp',
};

/**
 * A person-written message for an error from the API or the key worker.
 * @param values what the user typed, by field name (`{ to: ['bob@'] }`), to quote the wrong value.
 */
export function describeError(err: unknown, values: Record<string, string | readonly string[]> = {}): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as DescribableError;
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'VALIDATION_FAILED' && e.field) {
    const parts = e.field.split('.').filter((p) => !['body', 'query', 'params', 'mail'].includes(p));
    const name = parts.find((p) => !/^\d+$/.test(p));
    const index = parts.find((p) => /^\d+$/.test(p));
    const key = name ? (FIELD_ALIASES[name] ?? name) : undefined;
    if (key && i18n.exists(`fields.${key}`)) {
      const field = i18n.t(`fields.${key}`);
      const given = values[key] ?? (name ? values[name] : undefined);
      const value = Array.isArray(given) ? given[Number(index ?? 0)] : (given as string | undefined);
      // One line of a member list: said by its position as typed ("Member 2, “bob at …”").
      if (key === 'members' && index !== undefined && value) return i18n.t('errors.member', { n: Number(index) + 1, value });
      return value ? i18n.t('errors.fieldValue', { field, value }) : i18n.t('errors.field', { field });
    }
  }
  if (code && i18n.exists(`errors.${code}`)) return i18n.t(`errors.${code}`);
  return i18n.t('errors.unknown', { code: code || '—' });
}

/**
 * Why the session ended, for the sign-in screen it leads to: a revoked device is told that it was
 * removed and how to come back; a session signed out elsewhere is told so.
 */
export function endedMessage(err: unknown): string {
  const code = (err as DescribableError | null)?.code;
  if (code === 'DEVICE_REVOKED') return i18n.t('signin.revoked');
  if (code === 'UNAUTHENTICATED') return i18n.t('signin.signedOut');
  return describeError(err);
}
