/**
 * The names of the session cookies, one per app, in one place: the API sets and reads them
 * (apps/api/src/auth), the web hosts forward only their own app's cookie to the API.
 *
 * `__Host-` makes browsers insist on `Secure`, `Path=/` and no `Domain`: the cookie stays on the
 * exact host that set it. Browsers do not separate cookies by port, so the web client's and the
 * admin console's cookies have distinct names and each web host passes on only its own; the link
 * viewer's host passes on none.
 */
export const SESSION_COOKIES = Object.freeze({
  web: '__Host-sealmail-web',
  admin: '__Host-sealmail-admin',
} as const);

export type SessionApp = keyof typeof SESSION_COOKIES;

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** A Cookie header holding only cookie `keep` (undefined when it is absent or `keep` is null). */
export function onlyCookie(header: string | undefined, keep: string | null): string | undefined {
  if (!keep) return undefined;
  const value = readCookie(header, keep);
  return value === null ? undefined : `${keep}=${value}`;
}
