/** PartUploader's rules (the end-to-end upload is in apps/api/test/upload-parts.test.ts). */
import { describe, expect, it } from 'vitest';
import { ApiClientError } from '../src/api';
import { PartUploader } from '../src/mail/upload-parts';

describe('PartUploader', () => {
  it('numbers parts in the order they are added, whatever order they finish in', async () => {
    const got: [number, number][] = [];
    const up = new PartUploader(async (i, b) => {
      await new Promise((r) => setTimeout(r, (5 - i) * 3));
      got.push([i, b[0]!]);
    }, { parallel: 3 });
    for (let i = 0; i < 5; i++) await up.add(new Uint8Array([i * 10]));
    await up.done();
    expect(got.sort((a, b) => a[0] - b[0])).toEqual([[0, 0], [1, 10], [2, 20], [3, 30], [4, 40]]);
  });

  it('never has more than `parallel` parts in flight', async () => {
    let now = 0;
    let max = 0;
    const up = new PartUploader(async () => {
      max = Math.max(max, ++now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
    }, { parallel: 2 });
    for (let i = 0; i < 8; i++) await up.add(new Uint8Array(1));
    await up.done();
    expect(max).toBe(2);
  });

  it('sends a part again after a network failure or a 5xx, up to the attempt limit', async () => {
    const tries = new Map<number, number>();
    const up = new PartUploader(async (i) => {
      const n = (tries.get(i) ?? 0) + 1;
      tries.set(i, n);
      if (i === 1 && n === 1) throw new ApiClientError(0, 'NETWORK', 'cannot reach the server');
      if (i === 2 && n < 3) throw new ApiClientError(500, 'INTERNAL', 'busy');
    }, { backoff: () => 0 });
    for (let i = 0; i < 3; i++) await up.add(new Uint8Array(1));
    await up.done();
    expect([...tries]).toEqual([[0, 1], [1, 2], [2, 3]]);

    const never = new PartUploader(async () => {
      throw new ApiClientError(0, 'NETWORK', 'down');
    }, { attempts: 3, backoff: () => 0 });
    await never.add(new Uint8Array(1));
    await expect(never.done()).rejects.toMatchObject({ code: 'NETWORK' });
  });

  it('gives up on a part the server refuses (4xx) without sending it again, and stops taking parts', async () => {
    const calls: number[] = [];
    const up = new PartUploader(async (i) => {
      calls.push(i);
      if (i === 2) throw new ApiClientError(413, 'QUOTA_EXCEEDED', 'full');
    }, { parallel: 2, backoff: () => 0 });
    await expect(
      (async () => {
        for (let i = 0; i < 10; i++) await up.add(new Uint8Array(1));
        await up.done();
      })(),
    ).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(calls.filter((i) => i === 2)).toHaveLength(1);
    expect(calls.length).toBeLessThan(10);
  });

  it('by default sends four parts at a time and takes up to eight before add() waits (sealing runs ahead)', async () => {
    let now = 0;
    let max = 0;
    const release: (() => void)[] = [];
    const up = new PartUploader(async () => {
      max = Math.max(max, ++now);
      await new Promise<void>((r) => release.push(r));
      now--;
    });
    for (let i = 0; i < 8; i++) await up.add(new Uint8Array(1)); // none of these waits
    expect(max).toBe(4);
    let ninth = false;
    const adding = up.add(new Uint8Array(1)).then(() => void (ninth = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(ninth).toBe(false); // eight held: the ninth waits for one to finish
    while (release.length) release.shift()!();
    await adding;
    while (release.length || now) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 0));
    }
    await up.done();
    expect(max).toBe(4);
  });

  it('a part that fails while others wait for a slot stops the upload; the waiting ones are not sent', async () => {
    const sent: number[] = [];
    const up = new PartUploader(async (i) => {
      sent.push(i);
      await new Promise((r) => setTimeout(r, 2));
      if (i === 0) throw new ApiClientError(413, 'MESSAGE_TOO_LARGE', 'too large');
    }, { parallel: 1, held: 4 });
    const all = (async () => {
      for (let i = 0; i < 4; i++) await up.add(new Uint8Array(1)); // may itself throw once part 0 failed
      await up.done();
    })();
    await expect(all).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await expect(up.done()).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' }); // every held part settled
    expect(sent).toEqual([0]);
  });

  it("lets a part's request get going (a turn of the event loop) before taking the next part", async () => {
    const progressed: number[] = [];
    const up = new PartUploader(async (i) => {
      await new Promise((r) => setTimeout(r, 0)); // stands for the socket write the part starts
      progressed.push(i);
    });
    await up.add(new Uint8Array(1));
    expect(progressed).toEqual([0]);
    await up.add(new Uint8Array(1));
    expect(progressed).toEqual([0, 1]);
    await up.done();
  });
});
