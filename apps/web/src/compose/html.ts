/** Plain text as HTML: escaped, line breaks kept (signatures and templates typed in Settings). */
export const textToHtml = (text: string) =>
  text
    .split('\n')
    .map((l) => l.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`))
    .join('<br>');

/** Only these link targets are inserted (no javascript:, data: and the like). */
export const safeLink = (url: string): string | null => {
  const u = url.trim();
  if (/^(https?:\/\/|mailto:)\S+$/i.test(u)) return u;
  if (/^[a-z0-9.-]+\.[a-z]{2,}(\/\S*)?$/i.test(u)) return `https://${u}`;
  return null;
};
