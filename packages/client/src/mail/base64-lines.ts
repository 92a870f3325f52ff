/**
 * Base64 in lines of 76 characters joined by CRLF (RFC 2045 §6.8), in one pass over the bytes
 * into one output array: no binary string, no `btoa`, no regex split and join (buildMime's body
 * parts; the SMTP ingress builds one per message — docs/performance.md, "Speed, third round").
 * Same output as `btoa` of the bytes cut into 76-character lines.
 */
const ALPHABET = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const ascii = new TextDecoder();
/** 57 input bytes make one 76-character line. */
const LINE_BYTES = 57;

export function base64LineBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const chars = Math.ceil(n / 3) * 4;
  const lines = Math.ceil(n / LINE_BYTES);
  const out = new Uint8Array(chars + Math.max(0, lines - 1) * 2);
  let o = 0;
  for (let start = 0; start < n; start += LINE_BYTES) {
    if (start) {
      out[o++] = 13;
      out[o++] = 10;
    }
    const end = Math.min(n, start + LINE_BYTES);
    let i = start;
    for (; i + 2 < end; i += 3) {
      const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out[o++] = ALPHABET[v >>> 18]!;
      out[o++] = ALPHABET[(v >>> 12) & 63]!;
      out[o++] = ALPHABET[(v >>> 6) & 63]!;
      out[o++] = ALPHABET[v & 63]!;
    }
    if (i < end) {
      // The last one or two bytes of the input (57 is a multiple of 3: only the last line has a tail).
      const two = i + 1 < end;
      const v = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
      out[o++] = ALPHABET[v >>> 18]!;
      out[o++] = ALPHABET[(v >>> 12) & 63]!;
      out[o++] = two ? ALPHABET[(v >>> 6) & 63]! : 61;
      out[o++] = 61;
    }
  }
  return out;
}

/** {@link base64LineBytes} as a string. */
export function base64LinesOf(bytes: Uint8Array): string {
  return ascii.decode(base64LineBytes(bytes));
}
