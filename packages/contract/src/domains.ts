/**
 * Admin: domains of the account (MISSION §6, docs/admin.md "Domains"): add one, prove ownership
 * with a DNS TXT record, the records to publish (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT), a
 * checker that looks them up, DKIM key rotation over two selectors, and removal.
 */
import { z } from 'zod';
import { encryptionPolicy } from './mail';
import type { RouteContract } from './routes';

/** A DNS name in letters, digits and hyphens, lower-cased (at least two labels). */
export const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/, 'expected a domain name such as example.com');

const nameParams = z.object({ name: domainName });

/** One DNS record to publish. `id`: verify, mx, spf, dkim:<selector>, dmarc, mta-sts, mta-sts-host, tls-rpt. */
export const dnsRecord = z.object({
  id: z.string(),
  /** What it is for, in a few words. */
  purpose: z.string(),
  type: z.enum(['TXT', 'MX', 'CNAME']),
  /** The full name (no trailing dot). */
  name: z.string(),
  /** The record data exactly as to publish (TXT without quotes; MX: the host). */
  value: z.string(),
  /** MX only. */
  priority: z.number().int().optional(),
});
export type DnsRecordSpec = z.infer<typeof dnsRecord>;

export const dkimKeyView = z.object({
  selector: z.string(),
  /** active: signs outbound mail; next: made, waiting to be published and switched to; old: replaced, still listed until retired. */
  state: z.enum(['active', 'next', 'old']),
  record: dnsRecord,
  createdAt: z.string(),
  activatedAt: z.string().nullable(),
});

export const domainDetail = z.object({
  name: z.string(),
  verifiedAt: z.string().nullable(),
  createdAt: z.string(),
  crossDomainE2ee: z.boolean(),
  encryptionPolicy: encryptionPolicy.nullable(),
  /** The ownership record (always shown: it may stay published). */
  verification: dnsRecord,
  /** Everything to publish for mail, in order; DKIM records of every listed key. */
  records: z.array(dnsRecord),
  /** The MTA-STS policy file and where it must be served over HTTPS. */
  mtaStsPolicy: z.object({ url: z.string(), content: z.string() }),
  dkim: z.array(dkimKeyView),
  /** What is on the domain (removal is refused while any count is above zero). */
  usage: z.object({ users: z.number().int(), lists: z.number().int(), aliases: z.number().int() }),
});
export type DomainDetail = z.infer<typeof domainDetail>;

/** Admin (fresh re-authentication): adds a domain, unverified (409 DOMAIN_TAKEN when any organisation has it). */
export const adminDomainAdd = {
  method: 'POST',
  path: '/api/v1/admin/domains',
  body: z.object({ name: domainName }).strict(),
  response: domainDetail,
} as const;

/** Admin: one domain with its records, DKIM keys and usage. */
export const adminDomainGet = {
  method: 'GET',
  path: '/api/v1/admin/domains/:name',
  params: nameParams,
  response: domainDetail,
} as const;

/**
 * Admin: looks up `_sealmail-verify.<name>` TXT and, when it holds the token, sets verifiedAt.
 * Answers what was found either way (verified false: nothing changed).
 */
export const adminDomainVerify = {
  method: 'POST',
  path: '/api/v1/admin/domains/:name/verify',
  params: nameParams,
  response: z.object({ verified: z.boolean(), verifiedAt: z.string().nullable(), expected: dnsRecord, found: z.array(z.string()) }),
} as const;

export const recordCheck = z.object({
  record: dnsRecord,
  /** ok: published as expected; missing: nothing of this kind at the name; wrong: something else is there. */
  status: z.enum(['ok', 'missing', 'wrong']),
  /** What DNS answered at the name (of this kind), as text. */
  found: z.array(z.string()),
  /** What to change, in a sentence (absent when ok). */
  advice: z.string().optional(),
});
export type RecordCheck = z.infer<typeof recordCheck>;

/** Admin: looks every record up (through the server's resolver) and says per record what is right, missing or wrong. */
export const adminDomainCheck = {
  method: 'POST',
  path: '/api/v1/admin/domains/:name/check',
  params: nameParams,
  response: z.object({ checkedAt: z.string(), results: z.array(recordCheck) }),
} as const;

/** Admin (fresh): makes the next DKIM key under the other selector (409 DKIM_ROTATION_PENDING while an old one is listed). */
export const adminDkimPrepare = {
  method: 'POST',
  path: '/api/v1/admin/domains/:name/dkim/next',
  params: nameParams,
  response: domainDetail,
} as const;

/**
 * Admin (fresh): signing switches to the next key, when its record is seen published or
 * `confirmPublished` is true (409 DKIM_NOT_PUBLISHED otherwise).
 */
export const adminDkimActivate = {
  method: 'POST',
  path: '/api/v1/admin/domains/:name/dkim/activate',
  params: nameParams,
  body: z.object({ confirmPublished: z.boolean().optional() }).strict(),
  response: domainDetail,
} as const;

/** Admin (fresh): removes the old key (its DNS record can then go). */
export const adminDkimRetire = {
  method: 'POST',
  path: '/api/v1/admin/domains/:name/dkim/retire',
  params: nameParams,
  response: domainDetail,
} as const;

/** Admin (fresh): removes a domain (409 DOMAIN_IN_USE, naming the counts, while users, lists or aliases are on it). */
export const adminDomainRemove = {
  method: 'DELETE',
  path: '/api/v1/admin/domains/:name',
  params: nameParams,
  response: z.object({ removed: z.literal(true) }),
} as const;

export const domainRoutes = {
  adminDomainAdd,
  adminDomainGet,
  adminDomainVerify,
  adminDomainCheck,
  adminDkimPrepare,
  adminDkimActivate,
  adminDkimRetire,
  adminDomainRemove,
} satisfies Record<string, RouteContract>;
