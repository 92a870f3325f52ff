/** The DNS module: the table resolver tests use in place of DNS, and the file form e2e processes read (SEALMAIL_DNS_TABLE). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileTableResolver, loadConfig, lookupMx, lookupTxt, resolverFromConfig, systemResolver, tableResolver } from '../src/index';

describe('tableResolver', () => {
  const r = tableResolver({ 'TXT example.test': [['v=spf1 ', 'mx -all']], 'MX example.test': [{ exchange: 'mx.example.test', priority: 10 }] });

  it('answers from the table, names case-insensitively and without the trailing dot', async () => {
    expect(await r('Example.Test.', 'TXT')).toEqual([['v=spf1 ', 'mx -all']]);
    expect(await lookupTxt(r, 'example.test')).toEqual(['v=spf1 mx -all']);
    expect(await lookupMx(r, 'example.test')).toEqual([{ exchange: 'mx.example.test', priority: 10 }]);
  });

  it('fails like node:dns: ENODATA for a name with other records, ENOTFOUND for an unknown name; the lookups answer empty', async () => {
    await expect(r('example.test', 'CNAME')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(r('nowhere.test', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await lookupTxt(r, 'nowhere.test')).toEqual([]);
  });

  it('other failures reach the caller', async () => {
    const failing = async () => Promise.reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' }));
    await expect(lookupTxt(failing, 'example.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
  });
});

describe('SEALMAIL_DNS_TABLE (tests only)', () => {
  it('makes every process answer from the file, read anew on each lookup', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealmail-dns-'));
    try {
      const file = join(dir, 'dns.json');
      await writeFile(file, JSON.stringify({}));
      const config = loadConfig({ SEALMAIL_DNS_TABLE: file });
      expect(config.dnsTableFile).toBe(file);
      const r = resolverFromConfig(config);
      expect(await lookupTxt(r, '_sealmail-verify.new.example')).toEqual([]);
      await writeFile(file, JSON.stringify({ 'TXT _sealmail-verify.new.example': [['sealmail-verify=abc']] }));
      expect(await lookupTxt(r, '_sealmail-verify.new.example')).toEqual(['sealmail-verify=abc']);
      expect(await lookupTxt(fileTableResolver(join(dir, 'missing.json')), 'x.example')).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('unset: the system resolver', () => {
    expect(resolverFromConfig(loadConfig({}))).toBe(systemResolver);
  });
});
