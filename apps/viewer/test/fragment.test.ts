import { describe, expect, it } from 'vitest';
import { linkIdFromPath, parseFragment, takeFragment } from '../src/fragment';

const pw = 'A'.repeat(22);
const digest = 'b-_'.repeat(15);

describe('link fragment', () => {
  it('parses password and digest, with or without #', () => {
    expect(parseFragment(`#${pw}.${digest}`)).toEqual({ password: pw, digest });
    expect(parseFragment(`${pw}.${digest}`)).toEqual({ password: pw, digest });
  });

  it('rejects anything else', () => {
    for (const bad of ['', '#', `#${pw}`, `#${pw}.`, `#.${digest}`, `#${pw}.${digest}.x`, `#${pw}.${digest}=`, `#short.${digest}`, `#${pw}.${'x'.repeat(600)}`]) {
      expect(parseFragment(bad), bad).toBeNull();
    }
  });

  it('clears the fragment from the address bar without navigating', () => {
    const calls: unknown[][] = [];
    const loc = { hash: `#${pw}.${digest}`, pathname: '/m/abcdefgh', search: '' } as Location;
    const hist = { replaceState: (...a: unknown[]) => calls.push(a) } as unknown as History;
    expect(takeFragment(loc, hist)).toBe(`#${pw}.${digest}`);
    expect(calls).toEqual([[null, '', '/m/abcdefgh']]);
    const none = { ...loc, hash: '' } as Location;
    expect(takeFragment(none, hist)).toBe('');
    expect(calls).toHaveLength(1);
  });

  it('reads the link id from the path', () => {
    expect(linkIdFromPath('/m/abcdefgh12345678')).toBe('abcdefgh12345678');
    expect(linkIdFromPath('/m/abcdefgh12345678/')).toBe('abcdefgh12345678');
    for (const bad of ['/', '/m/', '/m/short', '/m/has space12', '/x/abcdefgh12345678', '/m/abcdefgh/extra']) expect(linkIdFromPath(bad), bad).toBeNull();
  });
});
