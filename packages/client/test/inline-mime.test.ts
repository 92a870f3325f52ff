/**
 * Inline images and forwarding as an attached message (docs/mail.md "Inline images",
 * "Organising mail"): the body piece puts inline images in a multipart/related beside the text
 * and HTML, each a placeholder with its Content-ID whose bytes travel as a piece like any
 * attachment; parsing gives the piece back with its cid; the EML of such a mail, attached to
 * another as message/rfc822, opens on the device with its image and attachment bytes intact.
 */
import { describe, expect, it } from 'vitest';
import PostalMime from 'postal-mime';
import { buildMime, parseMime } from '../src/mail/mime';
import { emlOf } from '../src/transfer/eml';
import { parseAttachedMessage } from '../src/mail/attached';

const td = new TextDecoder();
const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff)]);
const pdf = new TextEncoder().encode('%PDF-1.4 a report\n');

function body() {
  return buildMime({
    from: { name: 'Alice', address: 'alice@example.test' },
    to: ['bob@example.test'],
    cc: [],
    subject: 'Picture',
    text: 'See the picture.',
    html: '<p>See <img src="cid:img-1@sealmail.invalid" alt="chart"> the picture.</p>',
    date: new Date('2026-11-29T10:00:00Z'),
    messageId: 'm1@example.test',
    attachments: [
      { filename: 'report.pdf', contentType: 'application/pdf', size: pdf.length },
      { filename: 'chart.png', contentType: 'image/png', size: png.length, contentId: 'img-1@sealmail.invalid' },
    ],
  });
}

describe('inline images in the body piece', () => {
  it('go into a multipart/related with the HTML, with their Content-ID, while files stay attachments of the multipart/mixed', async () => {
    const raw = td.decode(body());
    expect(raw).toMatch(/Content-Type: multipart\/related; type="multipart\/alternative"; boundary="([^"]+)"/);
    const related = raw.match(/multipart\/related;[^\r\n]*boundary="([^"]+)"/)![1]!;
    const inside = raw.slice(raw.indexOf(`--${related}\r\n`), raw.indexOf(`--${related}--`));
    expect(inside).toContain('Content-Type: text/html');
    expect(inside).toMatch(/Content-Type: image\/png; name="chart.png"\r\nContent-Disposition: inline; filename="chart.png"; size=308\r\nContent-ID: <img-1@sealmail.invalid>\r\nContent-Description: sealmail-piece:2/);
    expect(inside).not.toContain('report.pdf');
    expect(raw).toMatch(/Content-Disposition: attachment; filename="report.pdf"[^\r\n]*\r\nContent-Description: sealmail-piece:1/);
    // Another parser agrees: the image is a related inline part with its cid.
    const email = await PostalMime.parse(body());
    expect(email.attachments.find((a) => a.filename === 'chart.png')).toMatchObject({ related: true, contentId: '<img-1@sealmail.invalid>', disposition: 'inline' });
    expect(email.html).toContain('cid:img-1@sealmail.invalid');
  });

  it('parse back with the piece, its cid and the HTML naming it', async () => {
    const m = await parseMime(body());
    expect(m.attachments).toEqual([
      { piece: 1, filename: 'report.pdf', contentType: 'application/pdf' },
      { piece: 2, filename: 'chart.png', contentType: 'image/png', contentId: 'img-1@sealmail.invalid' },
    ]);
    expect(m.html).toContain('src="cid:img-1@sealmail.invalid"');
  });

  it('a Content-ID that could break out of the header is not made inline; without HTML nothing is inline', async () => {
    const mime = (html: string | undefined, contentId: string) =>
      buildMime({ from: { name: '', address: 'a@example.test' }, to: ['b@example.test'], cc: [], subject: 's', text: 't', html, date: new Date(), messageId: 'x@example.test', attachments: [{ filename: 'a.png', contentType: 'image/png', size: 1, contentId }] });
    expect(td.decode(mime('<p>x</p>', 'bad>\r\nX-Evil: 1'))).not.toContain('X-Evil');
    expect(td.decode(mime('<p>x</p>', 'bad>\r\nX-Evil: 1'))).not.toContain('multipart/related');
    expect(td.decode(mime(undefined, 'ok@example.test'))).not.toContain('multipart/related');
    expect((await parseMime(mime(undefined, 'ok@example.test'))).attachments[0]).not.toHaveProperty('contentId');
  });
});

describe('forward as an attached message', () => {
  it('the EML (bytes in place of the placeholders) attached as message/rfc822 opens with the image and the file intact', async () => {
    const pieces = new Map([
      [1, pdf],
      [2, png],
    ]);
    const eml = await emlOf(body(), async (n) => pieces.get(n)!);
    // The forwarding mail: the EML is piece 1 of a new body piece.
    const outer = buildMime({ from: { name: 'Bob', address: 'bob@example.test' }, to: ['carol@example.test'], cc: [], subject: 'Fwd: Picture', text: 'Attached.', date: new Date(), messageId: 'm2@example.test', attachments: [{ filename: 'Picture.eml', contentType: 'message/rfc822', size: eml.length }] });
    expect((await parseMime(outer)).attachments).toEqual([{ piece: 1, filename: 'Picture.eml', contentType: 'message/rfc822' }]);

    const inner = await parseAttachedMessage(eml);
    expect(inner).toMatchObject({ subject: 'Picture', from: 'Alice <alice@example.test>', to: ['bob@example.test'], text: 'See the picture.' });
    expect(inner.html).toContain('cid:img-1@sealmail.invalid');
    const byName = Object.fromEntries(inner.attachments.map((a) => [a.filename, a]));
    expect(byName['report.pdf']!.bytes).toEqual(pdf);
    expect(byName['chart.png']).toMatchObject({ contentId: 'img-1@sealmail.invalid', inline: true, contentType: 'image/png' });
    expect(byName['chart.png']!.bytes).toEqual(png);
  });
});
