/**
 * The device's mbox splitter (packages/client/src/transfer/mbox.ts) holds at most one message plus
 * one chunk — also when the file's first line never ends. `pending` was dropped only when a message
 * was open, so "From " and then gigabytes without a newline were held whole (and copied at every
 * chunk): the key worker or the CLI ran out of memory. Now such a line is dropped as the server's
 * splitter drops it; what follows it is read as usual.
 */
import { describe, expect, it } from 'vitest';
import { splitMbox } from '../src/transfer/mbox';

describe('a never-ending first line', () => {
  it('is dropped, not held: it becomes no message, and the mail after it is read', async () => {
    const max = 64 * 1024;
    const enc = new TextEncoder();
    async function* source() {
      yield enc.encode('From ');
      // Eight times the message limit without a newline, in chunks.
      for (let i = 0; i < 32; i++) yield new Uint8Array(16 * 1024).fill(0x61);
      yield enc.encode('\nFrom someone@example.org Mon Jan  1 00:00:00 2024\nSubject: after it\n\nbody\n');
    }
    const out = [];
    for await (const m of splitMbox(source(), { maxMessageBytes: max })) out.push(m);
    // Before: the endless line opened a message of its own (over the limit, so without bytes).
    expect(out.map((m) => m.bytes === null)).toEqual([false]);
    expect(new TextDecoder().decode(out[0]!.bytes!)).toContain('Subject: after it');
  });
});
