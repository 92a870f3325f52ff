/**
 * The DNS records a domain publishes to receive and send mail through this server (docs/admin.md,
 * "Domains"), made from the configuration (SMTP host name, public host), and the checker that
 * looks each one up through the server's resolver (packages/server/src/dns.ts) and says what is
 * right, missing or wrong, and what to change.
 */
import { createHash } from 'node:crypto';
import type { DnsRecordSpec, RecordCheck } from '@sealmail/contract';
import { lookupMx, lookupNames, lookupTxt, type DnsResolver } from '@sealmail/server';
import { dkimRecord } from './dkim-keys';

/** Where this server's mail lives: the MX host (SEALMAIL_SMTP_HOSTNAME) and the public web host (SEALMAIL_PUBLIC_HOST). */
export interface MailHosts {
  smtp: string;
  public: string;
}

export const VERIFY_PREFIX = 'sealmail-verify=';
export const verifyName = (domain: string) => `_sealmail-verify.${domain}`;

export function verificationRecord(domain: string, token: string): DnsRecordSpec {
  return { id: 'verify', purpose: 'Proves you own the domain', type: 'TXT', name: verifyName(domain), value: `${VERIFY_PREFIX}${token}` };
}

/** The MTA-STS policy file (RFC 8461 §3.2): only this server's MX, enforced, a week. */
export function mtaStsPolicy(hosts: MailHosts): string {
  return `version: STSv1\nmode: enforce\nmx: ${hosts.smtp}\nmax_age: 604800\n`;
}

/** The policy id: changes whenever the policy file does (RFC 8461 §3.1: 1–32 letters and digits). */
export const mtaStsPolicyId = (hosts: MailHosts) => createHash('sha256').update(mtaStsPolicy(hosts)).digest('hex').slice(0, 20);

export const mtaStsPolicyUrl = (domain: string) => `https://mta-sts.${domain}/.well-known/mta-sts.txt`;

/** Every record to publish for mail, in the order an admin works through them. */
export function mailRecords(domain: string, hosts: MailHosts, dkimKeys: readonly { selector: string; publicKey: string }[]): DnsRecordSpec[] {
  return [
    { id: 'mx', purpose: 'Delivers mail for the domain to this server', type: 'MX', name: domain, value: hosts.smtp, priority: 10 },
    { id: 'spf', purpose: 'SPF: lets this server send for the domain', type: 'TXT', name: domain, value: `v=spf1 mx a:${hosts.smtp} -all` },
    ...dkimKeys.map((k) => dkimRecordSpec(domain, k)),
    { id: 'dmarc', purpose: 'DMARC: receivers quarantine mail that fails SPF and DKIM', type: 'TXT', name: `_dmarc.${domain}`, value: `v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}` },
    { id: 'mta-sts', purpose: 'MTA-STS: senders must use TLS to this server', type: 'TXT', name: `_mta-sts.${domain}`, value: `v=STSv1; id=${mtaStsPolicyId(hosts)}` },
    { id: 'mta-sts-host', purpose: 'MTA-STS: the host that serves the policy file', type: 'CNAME', name: `mta-sts.${domain}`, value: hosts.public },
    { id: 'tls-rpt', purpose: 'TLS-RPT: where senders report TLS problems', type: 'TXT', name: `_smtp._tls.${domain}`, value: `v=TLSRPTv1; rua=mailto:postmaster@${domain}` },
  ];
}

export function dkimRecordSpec(domain: string, key: { selector: string; publicKey: string }): DnsRecordSpec {
  return { id: `dkim:${key.selector}`, purpose: `DKIM key (selector ${key.selector})`, type: 'TXT', name: `${key.selector}._domainkey.${domain}`, value: dkimRecord(key.publicKey) };
}

/** Tag=value pairs of a TXT record (DKIM, DMARC, MTA-STS, TLS-RPT syntax), keys lower-cased, values whitespace-free. */
export function tags(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of record.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    out.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).replace(/\s+/g, ''));
  }
  return out;
}

const hostEq = (a: string, b: string) => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');

/** The verification TXT record holds exactly this token. */
export async function findVerification(resolver: DnsResolver, domain: string, token: string): Promise<{ verified: boolean; found: string[] }> {
  const found = (await lookupTxt(resolver, verifyName(domain))).filter((t) => t.trim().startsWith(VERIFY_PREFIX));
  return { verified: found.some((t) => t.trim() === `${VERIFY_PREFIX}${token}`), found };
}

type Verdict = Omit<RecordCheck, 'record'>;
const ok = (found: string[]): Verdict => ({ status: 'ok', found });
const missing = (advice: string): Verdict => ({ status: 'missing', found: [], advice });
const wrong = (found: string[], advice: string): Verdict => ({ status: 'wrong', found, advice });

/** Looks one record up and compares. DNS failures other than "no such record" throw. */
export async function checkRecord(resolver: DnsResolver, r: DnsRecordSpec, hosts: MailHosts): Promise<RecordCheck> {
  const publish = `Publish ${r.type} ${r.name} "${r.value}".`;
  const verdict = await (async (): Promise<Verdict> => {
    if (r.id === 'mx') {
      const mx = await lookupMx(resolver, r.name);
      const found = mx.map((m) => `${m.priority} ${m.exchange.replace(/\.$/, '')}`);
      if (!mx.length) return missing(`Publish MX ${r.name} with priority 10 and host ${r.value}.`);
      if (mx.some((m) => hostEq(m.exchange, r.value))) {
        const others = mx.filter((m) => !hostEq(m.exchange, r.value));
        return others.length ? wrong(found, `Remove the other MX hosts (${others.map((m) => m.exchange).join(', ')}): mail sent to them does not reach this server.`) : ok(found);
      }
      return wrong(found, `Point the MX record at ${r.value} instead.`);
    }
    if (r.id === 'mta-sts-host') {
      const cname = await lookupNames(resolver, r.name, 'CNAME');
      if (cname.some((c) => hostEq(c, r.value))) return ok(cname);
      const a = [...(await lookupNames(resolver, r.name, 'A')), ...(await lookupNames(resolver, r.name, 'AAAA'))];
      if (cname.length) return wrong(cname, `Point the CNAME at ${r.value} instead.`);
      // An address record may point at this server directly; the name itself cannot be compared.
      if (a.length) return ok(a);
      return missing(`Publish CNAME ${r.name} → ${r.value} (the policy file is served at https://${r.name}/.well-known/mta-sts.txt).`);
    }
    const txt = await lookupTxt(resolver, r.name);
    const expected = tags(r.value);
    const version = r.value.split(';')[0]!.trim().toLowerCase();
    if (r.id === 'spf') {
      const spf = txt.filter((t) => t.trim().toLowerCase().startsWith('v=spf1'));
      if (!spf.length) return missing(publish);
      if (spf.length > 1) return wrong(spf, `Keep one SPF record only (several make SPF fail): ${r.value}`);
      const terms = spf[0]!.toLowerCase().split(/\s+/);
      const allows = terms.includes('mx') || terms.includes('+mx') || terms.includes(`a:${hosts.smtp.toLowerCase()}`) || terms.includes(`+a:${hosts.smtp.toLowerCase()}`);
      if (!allows) return wrong(spf, `Add "mx" (or "a:${hosts.smtp}") to the SPF record, e.g. ${r.value}`);
      if (!terms.some((t) => t === '-all' || t === '~all')) return wrong(spf, `End the SPF record with -all (or ~all), e.g. ${r.value}`);
      return ok(spf);
    }
    const same = txt.filter((t) => t.trim().toLowerCase().replace(/\s+/g, '').startsWith(version.replace(/\s+/g, '')) || (r.id.startsWith('dkim:') && tags(t).has('p')));
    if (!same.length) return missing(publish);
    if (r.id.startsWith('dkim:')) {
      return same.some((t) => tags(t).get('p') === expected.get('p')) ? ok(same) : wrong(same, `The published key differs from this server's key for selector ${r.id.slice(5)}. ${publish}`);
    }
    if (same.length > 1) return wrong(same, `Keep one record at ${r.name}: ${r.value}`);
    const got = tags(same[0]!);
    if (r.id === 'dmarc') {
      const p = got.get('p');
      if (p === 'quarantine' || p === 'reject') return ok(same);
      return wrong(same, `Set p=quarantine (or p=reject): with p=${p ?? '(none)'} receivers accept forged mail. ${publish}`);
    }
    if (r.id === 'mta-sts') {
      return got.get('id') === expected.get('id') ? ok(same) : wrong(same, `Set id=${expected.get('id')} (the id names the policy this server serves; a stale id keeps senders on an old policy). ${publish}`);
    }
    if (r.id === 'tls-rpt') return got.get('rua') ? ok(same) : wrong(same, `Name where reports go (rua=mailto:…). ${publish}`);
    // The verification record and anything else: exactly the value.
    return same.some((t) => t.trim() === r.value) ? ok(same) : wrong(same, publish);
  })();
  return { record: r, ...verdict };
}
