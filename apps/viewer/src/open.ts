/**
 * Decrypting a link's message: the crypto and the MIME parser, most of the viewer's weight. The
 * page (main.ts) starts loading this module at once, in parallel with fetching the message, so
 * the first paint does not wait for it.
 */
import { fromBase64Url, openMailPiece, openManifest, openPasswordBox, type Manifest } from '@sealmail/crypto';
import { parseMime, type ParsedMime } from '@sealmail/client/mime';
import type { LinkSecret } from './fragment';

export type { Manifest, ParsedMime };

/** The parts of the link's answer that decryption reads. */
export interface SealedLink {
  envelope: string;
  manifest: string;
  passwordBox: string;
  body: string;
}

/**
 * Opens the message: the digest from the fragment must match the envelope the server handed out
 * (so the server cannot swap in another message), and the password must open its box. Throws on
 * any mismatch or damage.
 */
export async function openLink(data: SealedLink, secret: LinkSecret): Promise<{ manifest: Manifest; mime: ParsedMime }> {
  const envelope = fromBase64Url(data.envelope);
  const { messageKey, envelope: env } = openPasswordBox({ envelope, box: fromBase64Url(data.passwordBox), password: secret.password, digest: fromBase64Url(secret.digest) });
  const manifest = await openManifest({ envelope: env, manifest: fromBase64Url(data.manifest), messageKey });
  messageKey.fill(0);
  const body = await openMailPiece({ manifest, index: 0, ciphertext: fromBase64Url(data.body) });
  const mime = await parseMime(body);
  body.fill(0);
  return { manifest, mime };
}

/** Decrypts one attachment (authenticated before anything is returned). */
export function openPiece(manifest: Manifest, index: number, ciphertext: Uint8Array): Promise<Uint8Array> {
  return openMailPiece({ manifest, index, ciphertext });
}
