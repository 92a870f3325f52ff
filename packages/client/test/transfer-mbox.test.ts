/**
 * mboxrd on the device (docs/mail.md §10): From_ lines, reversible quoting of "From " lines,
 * and the splitter reading back exactly what the writer wrote — also the mboxo files other
 * programs write, and messages larger than allowed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { asctime, mboxrdRecord, splitMbox } from '../src/transfer/mbox';

const te = new TextEncoder();
const td = new TextDecoder();
async function split(bytes: Uint8Array, chunk = 7, max = 1 << 20) {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  const out = [];
  for await (const m of splitMbox(chunks, { maxMessageBytes: max })) out.push(m);
  return out;
}

describe('mboxrd', () => {
  it('quotes every line that would read as a From_ line, one ">" more, and only those', () => {
    const msg = te.encode('Subject: x\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\nFromage\r\n From indented\r\n');
    const out = td.decode(mboxrdRecord(msg, 'bob@example.test', new Date('2026-02-19T10:03:21Z')));
    expect(out).toBe('From bob@example.test Thu Feb 19 10:03:21 2026\nSubject: x\n\n>From the start\n>>From quoted\n>>>From twice\nFromage\n From indented\n\n');
  });

  it('asctime pads the day with a space', () => {
    expect(asctime(new Date('2026-03-03T09:00:00Z'))).toBe('Tue Mar  3 09:00:00 2026');
  });

  it('reads back exactly the messages it wrote (LF line ends), in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom('From x', '>From y', '>>From z', 'Subject: a', 'body', '', ' From', 'From'), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 40 }),
        async (messages, chunk) => {
          // A message's own text starts with a header line and ends with a line end.
          const texts = messages.map((lines) => ['X-Test: 1', ...lines].join('\n') + '\n');
          const file = new Uint8Array(texts.flatMap((t) => [...mboxrdRecord(te.encode(t), 'a@b.example', new Date(0))]));
          const back = await split(file, chunk);
          expect(back.map((m) => td.decode(m.bytes!))).toEqual(texts);
          expect(back.every((m) => m.envelopeDate?.getTime() === 0)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads mboxo (one ">" taken) and CRLF files, and skips a message larger than allowed', async () => {
    const file = te.encode('From a@b Thu Jan  1 00:00:00 1970\r\nSubject: 1\r\n\r\n>From here\r\n\r\nFrom c@d Thu Jan  1 00:00:00 1970\r\nSubject: 2\r\n\r\n' + 'x'.repeat(500) + '\r\n\r\nFrom e@f Thu Jan  1 00:00:00 1970\r\nSubject: 3\r\n');
    const out = await split(file, 13, 200);
    expect(out.map((m) => (m.bytes ? td.decode(m.bytes) : null))).toEqual(['Subject: 1\n\nFrom here\n', null, 'Subject: 3\n']);
  });
});
