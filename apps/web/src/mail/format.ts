/** How dates and sizes read in the mailbox. */

/** Today: the time; before: the date. */
export const shortDate = (iso: string) => {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString();
};

/**
 * A size for people in KB, MB, GB of 1024 (JEDEC, as Windows and most mail clients count): the
 * same units as the 25 MB attachment limit and the 1 GB default quota. Below 1 KB: bytes.
 */
export function formatSize(n: number): string {
  const units = ['KB', 'MB', 'GB', 'TB'];
  if (n < 1024) return `${n} B`;
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : Number(v.toFixed(1))} ${units[u]}`;
}
