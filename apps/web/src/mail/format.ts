import { formatDate, formatTime } from '@sealmail/ui';

/** A mail's date in a list: today the time, before that the date (in the reader's language). */
export const shortDate = (iso: string) => {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? formatTime(d) : formatDate(d);
};
