/** Bytes as people read mailbox sizes (binary units, labelled GB as plans are). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A date and time in the reader's locale. */
export const formatTime = (iso: string) => new Date(iso).toLocaleString();
