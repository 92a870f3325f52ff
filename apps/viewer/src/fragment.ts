/**
 * The secret part of an expiring link lives only in the URL fragment, which browsers never send
 * to a server: `#<password>.<digest>`, both base64url. The viewer reads it once and removes it
 * from the address bar and history before doing anything else.
 */
export interface LinkSecret {
  password: string;
  digest: string;
}

const B64URL = /^[A-Za-z0-9_-]{16,512}$/;

/** Parses a fragment (with or without '#'); null when it is not a link secret. */
export function parseFragment(fragment: string): LinkSecret | null {
  const f = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  const [password, digest, ...rest] = f.split('.');
  if (rest.length || !password || !digest || !B64URL.test(password) || !B64URL.test(digest)) return null;
  return { password, digest };
}

/** Reads the fragment and clears it from the address bar without a navigation. */
export function takeFragment(loc: Location, hist: History): string {
  const f = loc.hash;
  if (f) hist.replaceState(null, '', loc.pathname + loc.search);
  return f;
}

/** The link id from a path `/m/<id>`. */
export function linkIdFromPath(path: string): string | null {
  const m = /^\/m\/([A-Za-z0-9_-]{8,64})\/?$/.exec(path);
  return m ? m[1]! : null;
}
