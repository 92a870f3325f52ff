/**
 * Request bodies (api.ts `bodyOf`): in browsers large bytes go to fetch as a Blob (Chromium
 * uploaded a 4 MiB Uint8Array body about ten times slower than the same bytes as a Blob:
 * docs/performance.md, "The web client's uploads"); in Node they go as they are.
 */
import { describe, expect, it } from 'vitest';
import { bodyOf } from '../src/api';

describe('request bodies', () => {
  const part = new Uint8Array(4 * 1024 * 1024 + 7).map((_, i) => (i * 13) & 0xff);
  const view = part.subarray(1000, 1000 + 3 * 1024 * 1024);

  it('in a browser, a large part goes as a Blob of exactly its bytes (a view: only its range)', async () => {
    const body = bodyOf(view, false);
    expect(body).toBeInstanceOf(Blob);
    const bytes = new Uint8Array(await (body as Blob).arrayBuffer());
    expect(bytes.length).toBe(view.length);
    expect(Buffer.from(bytes).equals(Buffer.from(view))).toBe(true);
    // Taken at the call: changing the buffer afterwards does not change what is sent.
    part[1000] = part[1000]! ^ 0xff;
    expect(new Uint8Array(await (body as Blob).arrayBuffer())[0]).toBe(view[0]! ^ 0xff);
  });

  it('small bodies, text and anything in Node go as they are', () => {
    const small = new Uint8Array(1000);
    expect(bodyOf(small, false)).toBe(small);
    expect(bodyOf('{"a":1}', false)).toBe('{"a":1}');
    expect(bodyOf(view, true)).toBe(view);
    expect(bodyOf(view)).toBe(view); // these tests run in Node
  });
});
