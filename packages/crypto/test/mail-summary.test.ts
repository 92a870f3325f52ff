import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  cutUtf8,
  decodeMailSummary,
  decodeManifest,
  encodeMailSummary,
  encodeManifest,
  generateDeviceKeys,
  generatePerUserKey,
  MAIL_SUMMARY,
  openMailSummary,
  openManifest,
  openRecipientBox,
  publicKeysOf,
  sealMail,
  type MailSummaryFields,
} from '../src/index';
import { expectCode, expectCodeAsync, flip, seededRandom } from './helpers';

const random = seededRandom('mail-summary');
const te = new TextEncoder();
const bob = generatePerUserKey(2, { random });
const bobKey = { userId: 'bob', generation: 2, publicKeys: publicKeysOf(bob) };
const device = generateDeviceKeys({ random });
const sender = { kind: 'device' as const, userId: 'alice', deviceId: 'd1', signingSecretKey: device.signing.secretKey, signingPublicKey: device.signing.publicKey };
const fields: MailSummaryFields = { subject: 'Quarterly numbers', fromName: 'Alice', fromAddress: 'alice@example.test', snippet: 'Here they are', attachments: 2, sealedHeaders: [['x-sealmail-imported', '1']] };

async function seal(messageId: string, summary: MailSummaryFields = fields) {
  return sealMail({ messageId, sender, pieces: [{ kind: 'body', plaintext: te.encode('Subject: x\r\n\r\nbody') }], to: [bobKey], summary, random });
}
async function manifestOf(s: Awaited<ReturnType<typeof seal>>) {
  const box = openRecipientBox({ envelope: s.envelope, record: s.boxes[0]!.record, userId: 'bob', puk: bob, expectedSenderSigningKeys: [device.signing.publicKey] });
  expect(box.status).toBe('signed-valid');
  return openManifest({ envelope: box.envelope, manifest: s.manifest, messageKey: box.messageKey });
}

describe('sealed mail summaries (docs/crypto.md §5.15)', () => {
  it('opens with the box and manifest alone, without any piece', async () => {
    const s = await seal('m-1');
    expect(s.summary).toBeInstanceOf(Uint8Array);
    const manifest = await manifestOf(s);
    expect(manifest.summary?.size).toBeGreaterThan(0);
    expect(await openMailSummary({ manifest, ciphertext: s.summary! })).toEqual(fields);
  });

  it('rejects an altered, truncated or swapped summary, and one the manifest does not list', async () => {
    const s = await seal('m-2');
    const other = await seal('m-3', { ...fields, subject: 'Pay this invoice now' });
    const manifest = await manifestOf(s);
    for (let i = 0; i < s.summary!.length; i += 17) await expectCodeAsync(openMailSummary({ manifest, ciphertext: flip(s.summary!, i) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(openMailSummary({ manifest, ciphertext: s.summary!.subarray(0, s.summary!.length - 1) }), 'DECRYPTION_FAILED');
    await expectCodeAsync(openMailSummary({ manifest, ciphertext: other.summary! }), 'DECRYPTION_FAILED');
    // A mail sealed without a summary: a summary the server adds is refused.
    const plain = await sealMail({ messageId: 'm-4', sender, pieces: [{ kind: 'body', plaintext: te.encode('x') }], to: [bobKey], random });
    expect(plain.summary).toBeUndefined();
    const plainManifest = await manifestOf(plain);
    expect(plainManifest.summary).toBeUndefined();
    await expectCodeAsync(openMailSummary({ manifest: plainManifest, ciphertext: s.summary! }), 'DECRYPTION_FAILED');
  });

  it('binds the summary to the message id even under a manifest entry that lists it', async () => {
    const s = await seal('m-5');
    const manifest = await manifestOf(s);
    // A manifest (as a co-holder could forge only by re-signing) naming another id fails.
    await expectCodeAsync(openMailSummary({ manifest: { ...manifest, messageId: 'm-6' }, ciphertext: s.summary! }), 'DECRYPTION_FAILED');
  });

  it('keeps the manifest format of mail without a summary byte for byte', () => {
    const m = { messageId: 'x', notE2EE: true, pieces: [{ kind: 'body' as const, key: new Uint8Array(32), size: 3, ciphertextHash: new Uint8Array(32) }] };
    const bytes = encodeManifest(m);
    expect(bytes[2 + 2 + 1]).toBe(1); // flags: notE2EE only
    expect(decodeManifest(bytes)).toEqual(m);
    const withSummary = { ...m, summary: { key: new Uint8Array(32).fill(1), size: 40, ciphertextHash: new Uint8Array(32).fill(2) } };
    const b2 = encodeManifest(withSummary);
    expect(b2.length).toBe(bytes.length + 68);
    expect(decodeManifest(b2)).toEqual(withSummary);
    const bad = b2.slice();
    bad[5] = 4;
    expectCode(() => decodeManifest(bad), 'MALFORMED');
  });

  it('round-trips any fields, cutting long ones at character boundaries', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000, unit: 'grapheme' }), fc.string({ maxLength: 100 }), fc.integer({ min: 0, max: 0xffff }), (text, name, n) => {
        const f = { subject: text, fromName: name, fromAddress: 'a@b.test', snippet: text, attachments: n, sealedHeaders: [] };
        const d = decodeMailSummary(encodeMailSummary('id', f));
        expect(d.messageId).toBe('id');
        expect(text.startsWith(d.subject)).toBe(true);
        expect(new TextEncoder().encode(d.subject).length).toBeLessThanOrEqual(MAIL_SUMMARY.subjectBytes);
        expect(new TextEncoder().encode(d.snippet).length).toBeLessThanOrEqual(MAIL_SUMMARY.snippetBytes);
        expect(d.attachments).toBe(n);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses unknown versions and trailing bytes', () => {
    const b = encodeMailSummary('id', fields);
    const v = b.slice();
    v[0] = 2;
    expectCode(() => decodeMailSummary(v), 'UNSUPPORTED_VERSION');
    expectCode(() => decodeMailSummary(new Uint8Array([...b, 0])), 'MALFORMED');
  });
});

describe('cutUtf8', () => {
  /** The reference: code points in order while their TextEncoder bytes fit. */
  const reference = (s: string, max: number) => {
    let out = '';
    for (const ch of s) {
      if (new TextEncoder().encode(out + ch).length > max) break;
      out += ch;
    }
    return out;
  };
  it('keeps the longest prefix of whole characters within the byte limit (emoji, 2- and 3-byte characters, lone surrogates)', () => {
    const pieces = ['a', 'é', '€', '😀', '\ud800', '\udc00', 'z'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), fc.integer({ min: 0, max: 80 }), (parts, max) => {
        const s = parts.join('');
        const cut = cutUtf8(s, max);
        expect(cut).toBe(reference(s, max));
        expect(new TextEncoder().encode(cut).length).toBeLessThanOrEqual(max);
      }),
      { seed: 18 },
    );
  });
});
