/**
 * The Prisma client on the pg driver adapter, and the small repositories the apps use.
 * Every query here is indexed and bounded (MISSION §9).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type User } from './generated/client';
import { appendAuditEntry, prismaQuery, type AuditInput } from './audit-chain';

export type Db = PrismaClient;
export type { User, Domain, Account, AuditEvent } from './generated/client';

const pools = new WeakMap<Db, pg.Pool>();

/**
 * A Prisma client for `connectionString` (connects lazily, on first query). Its `pg` pool is
 * shared with libraries that take one (the sign-in throttle's Postgres store): `pgPoolOf(db)`.
 * `$disconnect()` ends the pool.
 */
export function createDb(connectionString: string, opts: { maxConnections?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString, max: opts.maxConnections ?? 10, connectionTimeoutMillis: 5000 });
  // An idle pool client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(db, pool);
  return db;
}

/** The `pg` pool under a client made by createDb (null for a client made otherwise). */
export function pgPoolOf(db: Db): pg.Pool | null {
  return pools.get(db) ?? null;
}

/**
 * Readiness probe: one round trip to the database.
 * @throws when the database cannot be reached.
 */
export async function checkDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}

/** Splits and lower-cases an address; null when it has no single '@'. */
export function splitAddress(address: string): { localPart: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { localPart: address.slice(0, at).toLowerCase(), domain: address.slice(at + 1).toLowerCase() };
}

/** The user with this address (any status), or null. */
export async function findUserByAddress(db: Db, address: string): Promise<User | null> {
  const parts = splitAddress(address);
  if (!parts) return null;
  return db.user.findFirst({ where: { localPart: parts.localPart, domain: { name: parts.domain } } });
}

/**
 * The mailbox an address delivers to: the user with this address, or the user an alias of that
 * address belongs to (any status), or null.
 */
export async function findMailboxByAddress(db: Db, address: string): Promise<User | null> {
  const direct = await findUserByAddress(db, address);
  if (direct) return direct;
  const parts = splitAddress(address);
  if (!parts) return null;
  const alias = await db.userAlias.findFirst({ where: { localPart: parts.localPart, domain: { name: parts.domain } }, select: { user: true } });
  if (alias) return alias.user;
  // Plus-addressing (docs/mail.md "Aliases and send-as"): user+tag@domain is user@domain (or an
  // alias), when no mailbox, list or alias has the whole local part.
  const plus = parts.localPart.indexOf('+');
  if (plus <= 0) return null;
  return findMailboxByAddress(db, `${parts.localPart.slice(0, plus)}@${parts.domain}`);
}

/** The address without its +tag (`bob+news@x` → `bob@x`), lower-cased. */
export function withoutPlusTag(address: string): string {
  const parts = splitAddress(address);
  if (!parts) return address.toLowerCase();
  const plus = parts.localPart.indexOf('+');
  return `${plus > 0 ? parts.localPart.slice(0, plus) : parts.localPart}@${parts.domain}`;
}

/** Every address a user receives on and may send from: their own and their aliases (lower case). */
export async function addressesOf(db: Db, user: { id: string; localPart: string; domainId: string }): Promise<string[]> {
  const [domain, aliases] = await Promise.all([
    db.domain.findUnique({ where: { id: user.domainId }, select: { name: true } }),
    db.userAlias.findMany({ where: { userId: user.id }, select: { localPart: true, domain: { select: { name: true } } }, orderBy: { localPart: 'asc' }, take: 100 }),
  ]);
  return [`${user.localPart}@${domain?.name ?? ''}`, ...aliases.map((a) => `${a.localPart}@${a.domain.name}`)];
}

/**
 * Whether a user (shared mailboxes are users), a mailing list, an alias or a room or equipment has
 * this address already (one domain's local part).
 */
export async function addressInUse(db: Pick<Db, 'user' | 'mailingList' | 'userAlias' | 'calendarResource'>, domainId: string, localPart: string): Promise<boolean> {
  const key = { domainId_localPart: { domainId, localPart } };
  const [user, list, alias, resource] = await Promise.all([
    db.user.findUnique({ where: key, select: { id: true } }),
    db.mailingList.findUnique({ where: key, select: { id: true } }),
    db.userAlias.findUnique({ where: key, select: { id: true } }),
    db.calendarResource.findUnique({ where: key, select: { id: true } }),
  ]);
  return !!(user ?? list ?? alias ?? resource);
}

/** Domains, optionally of one account, by name. */
export async function listDomains(db: Db, accountId?: string) {
  return db.domain.findMany({ where: accountId ? { accountId } : {}, orderBy: { name: 'asc' }, take: 1000 });
}

/**
 * Appends to the account's change history, hash-chained to the account's previous entry
 * (audit-chain.ts): one transaction that locks the account's chain head, so concurrent writers,
 * in this process or another, append one at a time.
 */
export async function recordAudit(db: Db, event: AuditInput): Promise<{ id: string; seq: bigint; hash: string }> {
  return db.$transaction((tx) => appendAuditEntry(prismaQuery(tx), event, new Date()), { maxWait: 15_000, timeout: 15_000 });
}
