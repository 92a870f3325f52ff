import { describe, expect, it } from 'vitest';
import { address, hasUnsafeText, hasUnstorableText } from '../src/index';

describe('text people read and compare', () => {
  it.each([
    ['NUL', 'a\u0000b'],
    ['tab', 'a\tb'],
    ['C1 control', 'a\u009bb'],
    ['right-to-left override', 'evil\u202etxt.exe'],
    ['first strong isolate', 'a\u2068b'],
    ['zero-width space', 'pay\u200bpal'],
    ['zero-width joiner', 'a\u200db'],
    ['byte order mark', '\ufeffadmin'],
    ['soft hyphen', 'ad\u00admin'],
    ['tag character', 'a\u{E0061}b'],
    ['lone high surrogate', 'a\ud800'],
    ['lone low surrogate', '\udc00a'],
    ['reversed surrogate pair', '\ude00\ud83d'],
  ])('refuses %s', (_what, s) => {
    expect(hasUnsafeText(s)).toBe(true);
  });

  it.each(['alice', 'Jürgen Müller', 'δοκιμή', '山田太郎', 'team 😀', 'O’Brien-Smith', 'e\u0301'])('accepts %s', (s) => {
    expect(hasUnsafeText(s)).toBe(false);
  });

  it('tells what no database can store apart from what only looks wrong', () => {
    expect(hasUnstorableText('a\u0000')).toBe(true);
    expect(hasUnstorableText('\ud800')).toBe(true);
    expect(hasUnstorableText('a\u202eb')).toBe(false);
    expect(hasUnstorableText('😀')).toBe(false);
  });

  it('addresses refuse hidden characters before trimming hides them', () => {
    expect(address.safeParse('alice@example.test').success).toBe(true);
    expect(address.safeParse('jürgen@example.test').success).toBe(true);
    expect(address.safeParse('\ufeffalice@example.test').success).toBe(false);
    expect(address.safeParse('ali\u200bce@example.test').success).toBe(false);
    expect(address.safeParse('ali\u202ece@example.test').success).toBe(false);
  });
});
