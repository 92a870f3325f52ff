/**
 * Per-domain DKIM keys in the database (docs/mail.md, "DKIM"), with rotation over two selectors
 * (`sealmail` and `sealmail2`):
 *   1. `prepareNext` makes a new key under the selector the active key does not use (state `next`);
 *      the admin publishes its record;
 *   2. `activate` switches signing to it once the checker sees it published (or the admin
 *      confirms); the previous key becomes `old` and stays listed (mail signed with it in transit
 *      still verifies);
 *   3. `retireOld` removes the old key (the admin then deletes its DNS record).
 * Private keys are sealed at rest with the server's secrets key (auth/secret-box.ts), bound to
 * the domain and selector.
 */
import { createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { ApiError } from '@sealmail/contract';
import type { Db } from '@sealmail/db';
import type { DkimKey } from '@sealmail/mailstore';
import type { SecretBox } from '../auth/secret-box';

export const DKIM_SELECTORS = ['sealmail', 'sealmail2'] as const;

const otherSelector = (s: string) => (s === DKIM_SELECTORS[0] ? DKIM_SELECTORS[1] : DKIM_SELECTORS[0]);

/** The TXT record of a public key (base64 DER SubjectPublicKeyInfo). */
export const dkimRecord = (publicKey: string) => `v=DKIM1; k=rsa; p=${publicKey}`;

async function newRsaKey(): Promise<string> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const publicKeyOf = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

export interface DkimKeysOptions {
  /**
   * A domain's key from before keys lived in the database (the data folder's
   * `keys/dkim/<domain>.pem`, published under `sealmail`): imported as the active key on first
   * use, so records already published stay right. Null: a new key is made.
   */
  legacyKey?: (domain: string) => Promise<string | null>;
}

export class DkimKeys {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly opts: DkimKeysOptions = {},
  ) {}

  private seal(domainId: string, selector: string, pem: string) {
    return this.secrets.seal('dkim', `${domainId}/${selector}`, pem);
  }

  /** The keys of a domain (never the private halves), active first. */
  async list(domainId: string) {
    const rows = await this.db.dkimKey.findMany({ where: { domainId }, select: { selector: true, state: true, publicKey: true, createdAt: true, activatedAt: true }, orderBy: { createdAt: 'asc' } });
    const order = { active: 0, next: 1, old: 2 } as const;
    return rows.sort((a, b) => order[a.state] - order[b.state]);
  }

  /** Makes the domain's first key (active, selector `sealmail`) when it has none. */
  async ensureActive(domain: { id: string; name: string }): Promise<void> {
    if (await this.db.dkimKey.findFirst({ where: { domainId: domain.id, state: 'active' }, select: { id: true } })) return;
    const pem = (await this.opts.legacyKey?.(domain.name)) ?? (await newRsaKey());
    const selector = DKIM_SELECTORS[0];
    await this.db.dkimKey
      .create({ data: { domainId: domain.id, selector, state: 'active', privateKey: this.seal(domain.id, selector, pem), publicKey: publicKeyOf(pem), activatedAt: new Date() } })
      .catch(async (err: unknown) => {
        // Another process made it meanwhile (unique domain + selector): theirs is used.
        if ((err as { code?: string }).code !== 'P2002') throw err;
      });
  }

  /** The key outbound mail from `domainName` is signed with (made on first use). */
  async signingKey(domainName: string): Promise<DkimKey> {
    const domain = await this.db.domain.findUnique({ where: { name: domainName.toLowerCase() }, select: { id: true, name: true } });
    if (!domain) throw new Error(`no domain ${domainName} here to sign for`);
    await this.ensureActive(domain);
    const key = await this.db.dkimKey.findFirstOrThrow({ where: { domainId: domain.id, state: 'active' } });
    const pem = this.secrets.open('dkim', `${domain.id}/${key.selector}`, key.privateKey);
    if (!pem) throw new Error(`the DKIM key of ${domainName} does not open with this server's key`);
    return { domain: domain.name, selector: key.selector, privateKey: pem, dnsRecord: dkimRecord(key.publicKey) };
  }

  /**
   * Makes the next key under the other selector. Refused (409 DKIM_ROTATION_PENDING) while an
   * old key still holds that selector; a next key already made is kept (the same record stays
   * valid).
   */
  async prepareNext(domain: { id: string; name: string }): Promise<void> {
    await this.ensureActive(domain);
    const keys = await this.db.dkimKey.findMany({ where: { domainId: domain.id }, select: { selector: true, state: true } });
    if (keys.some((k) => k.state === 'next')) return;
    if (keys.some((k) => k.state === 'old')) throw new ApiError('DKIM_ROTATION_PENDING');
    const active = keys.find((k) => k.state === 'active')!;
    const selector = otherSelector(active.selector);
    const pem = await newRsaKey();
    await this.db.dkimKey.create({ data: { domainId: domain.id, selector, state: 'next', privateKey: this.seal(domain.id, selector, pem), publicKey: publicKeyOf(pem) } });
  }

  /** Signing moves to the next key; the active one becomes old. 409 DKIM_NO_NEXT_KEY without a next key. */
  async activate(domainId: string, now: Date): Promise<{ selector: string; previous: string }> {
    return this.db.$transaction(async (tx) => {
      const next = await tx.dkimKey.findFirst({ where: { domainId, state: 'next' } });
      if (!next) throw new ApiError('DKIM_NO_NEXT_KEY');
      const active = await tx.dkimKey.findFirstOrThrow({ where: { domainId, state: 'active' } });
      await tx.dkimKey.update({ where: { id: active.id }, data: { state: 'old' } });
      await tx.dkimKey.update({ where: { id: next.id }, data: { state: 'active', activatedAt: now } });
      return { selector: next.selector, previous: active.selector };
    });
  }

  /** Removes the old key. 409 DKIM_NO_OLD_KEY without one. */
  async retireOld(domainId: string): Promise<string> {
    const old = await this.db.dkimKey.findFirst({ where: { domainId, state: 'old' } });
    if (!old) throw new ApiError('DKIM_NO_OLD_KEY');
    await this.db.dkimKey.delete({ where: { id: old.id } });
    return old.selector;
  }
}
