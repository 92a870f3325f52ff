/**
 * buildMime's base64 body lines (src/mail/base64-lines.ts): one pass into one array instead of a
 * binary string, btoa and a regex. The output must be exactly what Node's base64 cut into
 * 76-character CRLF lines gives (RFC 2045 §6.8), for every tail length and line boundary.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64LinesOf } from '../src/mail/base64-lines';
import { buildMime, parseMime } from '../src/mail/mime';

const reference = (b: Buffer) => (b.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');

describe('base64 body lines', () => {
  it('match the reference encoding for every length up to three lines and beyond', () => {
    for (let n = 0; n <= 200; n++) {
      const b = randomBytes(n);
      expect(base64LinesOf(b), `length ${n}`).toBe(reference(b));
    }
    const big = randomBytes(100_003);
    expect(base64LinesOf(big)).toBe(reference(big));
    expect(base64LinesOf(new Uint8Array(0))).toBe('');
  });

  it('a body with multi-byte text survives buildMime and parseMime', async () => {
    const text = 'Grüße — ✉️ '.repeat(500);
    const mime = buildMime({ from: { name: 'A', address: 'a@example.test' }, to: ['b@example.test'], cc: [], subject: 's', text, html: `<p>${text}</p>`, date: new Date(0), messageId: 'm@example.test', attachments: [] });
    const body = new TextDecoder().decode(mime);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    const parsed = await parseMime(mime);
    expect(parsed.text.trim()).toBe(text.trim());
  });
});
