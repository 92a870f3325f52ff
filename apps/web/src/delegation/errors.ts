import { describeError, i18n } from '@sealmail/ui';

/** A refusal of a delegation step in one clear line: the device's own checks first, then the API's registry codes. */
export function delegationError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const key = `delegation.errors.${e.code ?? ''}`;
  return e.code && i18n.exists(key) ? i18n.t(key) : describeError(e);
}
