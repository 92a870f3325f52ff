/**
 * Text that people read and compare (addresses, names, patterns) must look like what it is.
 * Refused anywhere in such text: C0 and C1 control characters (NUL included), direction
 * overrides and isolates (bidi), zero-width and other invisible characters, Unicode tag
 * characters, and UTF-16 surrogates that do not form a pair (which no database can store).
 */
import { z } from 'zod';

const UNSAFE_TEXT = new RegExp(
  // Combining marks (U+034F, variation selectors) are listed on purpose: each one alone is refused.
  // eslint-disable-next-line no-misleading-character-class
  [
    '[\\u0000-\\u001f\\u007f-\\u009f]', // C0/C1 controls, DEL
    '[\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u3164\\uffa0]', // soft hyphen, invisible fillers, Arabic letter mark
    '[\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f]', // zero-width, LRM/RLM, line/paragraph separators, bidi embeddings/overrides/isolates
    '[\\ufe00-\\ufe0f\\ufeff\\ufff9-\\ufffb]', // variation selectors, BOM/zero-width no-break space, interlinear annotations
    '\\udb40[\\udc00-\\udc7f]', // tag characters U+E0000-E007F
    '[\\ud800-\\udbff](?![\\udc00-\\udfff])', // high surrogate without its low half
    '(?<![\\ud800-\\udbff])[\\udc00-\\udfff]', // low surrogate without its high half
  ].join('|'),
);

/** True when `s` holds a character refused in addresses and names (see the module comment). */
export function hasUnsafeText(s: string): boolean {
  return UNSAFE_TEXT.test(s);
}

/** True when `s` holds a NUL or a lone surrogate: text no part of Sealmail can store. */
export function hasUnstorableText(s: string): boolean {
  return s.includes('\u0000') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

export const SAFE_TEXT_MESSAGE = 'expected text without control, invisible or direction-changing characters';

/** A zod string check refusing unsafe characters (apply before trimming, so nothing is hidden). */
export const safeString = () => z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE);
