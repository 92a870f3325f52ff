import { ApiClientError } from '@sealmail/client';
import { address } from '@sealmail/contract';
import { describeError, i18n } from '@sealmail/ui';

/**
 * An admin form's error in words: the server's own sentence for a refused change (ADDRESS_TAKEN,
 * …); for a field it refused (VALIDATION_FAILED with e.g. `body.members.1`), the form's label and
 * the value typed there (`values`, by field name), in the catalogue's language (describeError).
 * Never the request path.
 */
export function problemText(err: unknown, values: Record<string, string | readonly string[]> = {}, fallback = 'The change failed.'): string {
  if (err instanceof ApiClientError) return err.code === 'VALIDATION_FAILED' ? describeError(err, values) : err.message;
  return err instanceof Error ? err.message : fallback;
}

/**
 * Members typed one per line (or separated by commas or semicolons). A line of addresses separated
 * by spaces counts as several; any other line stays whole, so a mistyped one is quoted as typed.
 */
export function parseMembers(text: string): string[] {
  const members: string[] = [];
  for (const line of text.split(/[\n,;]+/).map((l) => l.trim()).filter(Boolean)) {
    const words = line.split(/\s+/);
    if (words.length > 1 && words.every((w) => address.safeParse(w).success)) members.push(...words);
    else members.push(line);
  }
  return members;
}

/** The first member that is not an e-mail address, named by its position and as typed; null when all are. */
export function memberProblem(members: readonly string[]): string | null {
  const i = members.findIndex((m) => !address.safeParse(m).success);
  return i < 0 ? null : i18n.t('errors.member', { n: i + 1, value: members[i] });
}
