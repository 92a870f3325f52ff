/**
 * A secret line typed at a terminal (src/terminal-input.ts): asked for on stderr, never echoed,
 * given on Enter (piped input used to be read to its end: at a terminal the password showed as it
 * was typed and nothing happened until Ctrl-D). A fake terminal stands in for the real one.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { hiddenLine } from '../src/terminal-input';

function fakeTerminal() {
  const events = new EventEmitter();
  const raw: boolean[] = [];
  const input = {
    isTTY: true,
    setRawMode: (on: boolean) => raw.push(on),
    on: (e: 'data', l: (c: Buffer | string) => void) => events.on(e, l),
    off: (e: 'data', l: (c: Buffer | string) => void) => events.off(e, l),
    resume: () => undefined,
    pause: () => undefined,
  };
  return { input, raw, type: (s: string) => events.emit('data', Buffer.from(s)) };
}

describe('a secret line at a terminal', () => {
  it('is asked for, typed unseen with backspace, and given on Enter', async () => {
    const t = fakeTerminal();
    const written: string[] = [];
    const answer = hiddenLine(t.input, (s) => written.push(s), 'sealmail (input hidden): ', () => undefined);
    t.type('hunter');
    t.type('3\u007f2');
    t.type('\r');
    expect(await answer).toBe('hunter2');
    expect(written.join('')).toBe('sealmail (input hidden): \n');
    expect(t.raw).toEqual([true, false]);
  });

  it('stops the command on Ctrl-C and gives an empty answer on Ctrl-D', async () => {
    const t = fakeTerminal();
    let interrupted = false;
    void hiddenLine(t.input, () => undefined, '> ', () => (interrupted = true));
    t.type('secr\u0003');
    expect(interrupted).toBe(true);
    expect(t.raw).toEqual([true, false]);
    const d = fakeTerminal();
    const empty = hiddenLine(d.input, () => undefined, '> ', () => undefined);
    d.type('\u0004');
    expect(await empty).toBe('');
  });
});
