/**
 * The API as a Fastify instance, separate from listen() so tests call `app.inject()`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  API_SECURITY_HEADERS,
  defaultAppOrigins,
  defaultAuthSettings,
  edgeClientErrorHandler,
  edgeFrameworkErrors,
  IDLE_CONNECTION_MS,
  MAX_PARAM_LENGTH,
  tlsServerOptions,
  type AppOrigins,
  systemResolver,
  type AuthSettings,
  type DnsResolver,
  type Logger,
} from '@sealmail/server';
import { installErrorHandling } from './http/errors';
import { installInputGuard, installSecurityHeaders } from './http/edge';
import { installCsrfGuard } from './http/csrf';
import { installZodValidation } from './http/route';
import { lazyChildLoggerFactory } from './http/lazy-logger';
import { healthRoutes } from './routes/health';
import { directoryRoutes } from './routes/directory';
import { authRoutes } from './routes/auth';
import { accountRoutes } from './routes/account';
import { SignInThrottle } from './auth/throttle';
import { SecretBox } from './auth/secret-box';
import { sealLegacyTotpSecrets } from './auth/second-factor';
import { pgPoolOf } from '@sealmail/db';
import { keyRoutes } from './routes/keys';
import { keyBatchRoutes } from './routes/keys-batch';
import { escrowRoutes } from './routes/escrow';
import { blobRoutes } from './routes/blobs';
import { mailRoutes } from './routes/mail';
import { domainRoutes } from './routes/domains';
import { outboundAdminRoutes } from './routes/outbound-admin';
import { adminUserRoutes, type HealthTargets } from './routes/admin-users';
import { linkRoutes } from './routes/links';
import { blockingRoutes } from './routes/blocking';
import { composeRoutes } from './routes/compose';
import { ScheduledSends, type ScheduledOptions } from './mail/scheduled';
import { contactRoutes } from './routes/contacts';
import { rulesRoutes } from './routes/rules';
import { listRoutes } from './routes/lists';
import { organiseRoutes } from './routes/organise';
import { calendarRoutes } from './routes/calendar';
import { calendarSchedRoutes } from './routes/calendar-sched';
import { Reminders, type RemindersOptions } from './calendar/reminders';
import { CalendarStore } from './calendar/store';
import { calendarInviteRoutes } from './routes/calendar-invite';
import { mtaStsPolicyRoutes } from './routes/mta-sts-policy';
import { adminHistoryRoutes } from './routes/admin-history';
import { adminActivityRoutes } from './routes/admin-activity';
import { importRoutes } from './routes/imports';
import { delegationRoutes } from './routes/delegation';
import { transferRoutes } from './routes/transfer';
import { Importer, type ImporterOptions } from './imports/importer';
import { ImportStaging } from './imports/staging';
import { CacheNotifications, ephemeralServerMailKey, MailEvents, postgresBlobStore, replyOutOfOffice, type BlobStore, type ServerMailKey } from '@sealmail/mailstore';
import { Outbound, type OutboundOptions } from './mail/outbound';
import { listPoster } from './mail/list-post';
import type { ApiDeps } from './deps';
import { HeldMail, type HeldMailOptions } from './mail/held';
import { Housekeeping, type HousekeepingOptions } from './mail/housekeeping';
import { escrowAdminRoutes } from './routes/escrow-admins';
import { DkimKeys } from './mail/dkim-keys';
import type { MailHosts } from './mail/domain-records';
import { ApiCache, type CacheSettings } from './cache/store';
import { installCacheHooks } from './cache/hooks';
import type { CachedSession } from './auth/sessions';

export interface BuildAppOptions extends Omit<ApiDeps, 'now' | 'auth' | 'blobs' | 'events' | 'serverKey' | 'outbound' | 'heldMail' | 'scheduled' | 'importer' | 'reminders' | 'origins' | 'throttle' | 'secrets' | 'resolver' | 'dkim' | 'mailHosts' | 'cache'> {
  /** DNS (default: the system resolver; tests pass a table). */
  resolver?: DnsResolver;
  /** Idle connections are closed after this long (default IDLE_CONNECTION_MS; tests pass less). */
  idleConnectionMs?: number;
  /** The MX host (SEALMAIL_SMTP_HOSTNAME) and public host the domain records name (default localhost for both). */
  mailHosts?: MailHosts;
  /** A domain's DKIM key from before keys lived in the database (the data folder's), imported on first use. */
  legacyDkimKey?: (domain: string) => Promise<string | null>;
  /** The web client's and admin console's origins (default: the local start's, on localhost). */
  origins?: AppOrigins;
  serverKey?: ServerMailKey;
  /** Run the outbound relay in this process (standard mail to the outside world); DKIM keys default to the database's, DNS to `resolver`. */
  outbound?: Omit<OutboundOptions, 'serverKey' | 'dkim'> & Partial<Pick<OutboundOptions, 'dkim'>>;
  /** Run the job that files mail held for users without keys (docs/mail.md §7.4) in this process. */
  heldMail?: HeldMailOptions;
  /** Run the housekeeping job (orphaned blobs) in this process. */
  housekeeping?: HousekeepingOptions;
  /** Scheduled send's release job (docs/mail.md "Scheduled send"). */
  scheduled?: ScheduledOptions;
  /** Run the mail import queue in this process (docs/admin.md "Import"). */
  imports?: ImporterOptions;
  /** Run calendar reminders (pg-boss jobs) in this process (docs/calendar.md "Reminders"). */
  reminders?: RemindersOptions;
  blobs?: BlobStore;
  events?: MailEvents;
  logger: Logger;
  now?: () => Date;
  auth?: AuthSettings;
  /**
   * Postgres to LISTEN on for mail events of other processes (the SMTP ingress, other API
   * processes), and for the cache's invalidations: without it the cache stays off.
   */
  eventsUrl?: string;
  /** The per-process cache (SEALMAIL_API_CACHE, SEALMAIL_API_CACHE_MB; docs/performance.md), or one to use (tests look into it); default on. */
  cache?: Partial<CacheSettings> | ApiCache<CachedSession>;
  /** HTTPS material; absent in tests that use inject(). */
  tls?: { cert: string; key: string };
  /**
   * Proxies whose X-Forwarded-For gives the client address (SEALMAIL_TRUSTED_PROXIES); none:
   * the peer address is the client.
   */
  trustedProxies?: readonly string[];
  /** What the admin console's overview checks besides the database (SMTP ingress, certificate). */
  health?: HealthTargets;
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    // The per-request child logger is made only when the request logs (http/lazy-logger.ts).
    childLoggerFactory: lazyChildLoggerFactory,
    ...(opts.tls ? { https: tlsServerOptions(opts.tls) } : {}),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    connectionTimeout: opts.idleConnectionMs ?? IDLE_CONNECTION_MS,
    // Path parameters up to 1024 characters (addresses have up to 254, percent-encoded up to 762);
    // what the router or Node's parser refuses is answered in the registry format (414/431/400).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: edgeClientErrorHandler(API_SECURITY_HEADERS),
    frameworkErrors: edgeFrameworkErrors(API_SECURITY_HEADERS),
    trustProxy: opts.trustedProxies?.length ? [...opts.trustedProxies] : false,
  });
  installSecurityHeaders(app);
  // JSON only: Fastify's default text/plain parser would hand strings to JSON routes.
  app.removeContentTypeParser('text/plain');
  installZodValidation(app);
  installErrorHandling(app);
  installInputGuard(app);
  const origins = opts.origins ?? defaultAppOrigins;
  installCsrfGuard(app, origins);
  const pool = pgPoolOf(opts.db);
  if (!pool) throw new Error('buildApp needs a database client made by createDb (its pg pool holds the sign-in throttle)');
  const auth = opts.auth ?? defaultAuthSettings;
  const serverKey = opts.serverKey ?? ephemeralServerMailKey();
  const secrets = new SecretBox(serverKey);
  const deps: ApiDeps = {
    origins,
    db: opts.db,
    version: opts.version,
    now: opts.now ?? (() => new Date()),
    auth,
    blobs: opts.blobs ?? postgresBlobStore(opts.db),
    events: opts.events ?? new MailEvents(),
    serverKey,
    outbound: null,
    heldMail: null,
    scheduled: null,
    importer: null,
    reminders: null,
    throttle: new SignInThrottle(pool, auth),
    secrets,
    resolver: opts.resolver ?? systemResolver,
    dkim: new DkimKeys(opts.db, secrets, opts.legacyDkimKey ? { legacyKey: opts.legacyDkimKey } : {}),
    mailHosts: opts.mailHosts ?? { smtp: 'localhost', public: 'localhost' },
    cache: opts.cache instanceof ApiCache ? opts.cache : new ApiCache<CachedSession>(opts.cache),
  };
  // TOTP secrets from before they were sealed at rest: sealed now, once.
  await sealLegacyTotpSecrets(deps.db, deps.secrets).catch((err: unknown) => app.log.warn({ err }, 'could not seal legacy TOTP secrets'));
  if (opts.outbound) {
    // A user posting to their organisation's list: expanded here rather than relayed (mail/list-post.ts).
    const postToList = listPoster({ db: deps.db, blobs: deps.blobs, hostname: opts.outbound.hostname, now: deps.now, logger: opts.logger, serverPublicKey: deps.serverKey.publicKey });
    const outbound = new Outbound(deps.db, deps.blobs, opts.logger, { now: deps.now, resolver: deps.resolver, dkim: (domain) => deps.dkim.signingKey(domain), postToList, ...opts.outbound, serverKey: deps.serverKey });
    await outbound.start();
    deps.outbound = outbound;
    app.addHook('onClose', async () => outbound.stop());
  }
  if (opts.heldMail) {
    const held = new HeldMail(deps.db, deps.serverKey, opts.logger, opts.heldMail);
    await held.start();
    deps.heldMail = held;
    app.addHook('onClose', async () => held.stop());
  }
  if (opts.housekeeping) {
    const housekeeping = new Housekeeping(deps.db, deps.blobs, opts.logger, deps.now, opts.housekeeping);
    await housekeeping.start();
    app.addHook('onClose', async () => housekeeping.stop());
  }
  if (opts.scheduled) {
    // Recipients' out-of-office replies to a released mail, as for one sent at once (routes/mail.ts).
    const outOfOffice = async (r: { userId: string; address: string; replyTo: string; senderUserId: string; inReplyTo: string }) => {
      const accounts = await deps.db.user.findMany({ where: { id: { in: [r.userId, r.senderUserId] } }, select: { accountId: true } });
      const outside = new Set(accounts.map((a) => a.accountId)).size > 1;
      await replyOutOfOffice({ db: deps.db, blobs: deps.blobs, hostname: deps.mailHosts.smtp, now: deps.now, logger: opts.logger, secrets: deps.secrets, serverPublicKey: deps.serverKey.publicKey }, { ...r, outside });
    };
    const scheduled = new ScheduledSends(deps.db, deps.blobs, deps.events, opts.logger, deps.now, () => deps.outbound, { outOfOffice, ...opts.scheduled });
    await scheduled.start();
    deps.scheduled = scheduled;
    app.addHook('onClose', async () => scheduled.stop());
  }
  if (opts.imports) {
    const importer = new Importer(deps.db, deps.blobs, new ImportStaging(deps.db, deps.serverKey), opts.logger, deps.now, opts.imports, { serverPublicKey: deps.serverKey.publicKey });
    await importer.start();
    deps.importer = importer;
    app.addHook('onClose', async () => importer.stop());
  }
  if (opts.reminders) {
    const reminders = new Reminders(deps, new CalendarStore(deps), opts.logger, opts.reminders);
    await reminders.start();
    deps.reminders = reminders;
    app.addHook('onClose', async () => reminders.stop());
  }
  app.decorateRequest('session', null);
  if (opts.eventsUrl) {
    await deps.events.listen(opts.eventsUrl, (err) => app.log.warn({ err }, 'mail events listener'));
    app.addHook('onClose', async () => deps.events.close());
  }
  app.decorateRequest('cacheSince', 0);
  if (opts.eventsUrl && deps.cache.settings.enabled) {
    // The cache answers only while this LISTEN is up (cache/store.ts).
    const notifications = new CacheNotifications(deps.cache);
    // A new-mail event may reach this process (and a client refresh on it) before the cache's
    // own notification, which comes on another connection: the event drops the user's pages first.
    deps.events.tap((userId) => deps.cache.dropUser(userId, false));
    await notifications.listen(opts.eventsUrl, (err) => app.log.warn({ err }, 'cache invalidation listener'));
    installCacheHooks(app, deps, notifications);
    app.addHook('onClose', async () => notifications.close());
  }
  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => directoryRoutes(scope, deps));
  await app.register(async (scope) => authRoutes(scope, deps));
  await app.register(async (scope) => accountRoutes(scope, deps));
  await app.register(async (scope) => keyRoutes(scope, deps));
  await app.register(async (scope) => keyBatchRoutes(scope, deps));
  await app.register(async (scope) => escrowRoutes(scope, deps));
  await app.register(async (scope) => escrowAdminRoutes(scope, deps));
  await app.register(async (scope) => blobRoutes(scope, deps));
  await app.register(async (scope) => mailRoutes(scope, deps));
  await app.register(async (scope) => composeRoutes(scope, deps));
  await app.register(async (scope) => domainRoutes(scope, deps));
  await app.register(async (scope) => outboundAdminRoutes(scope, deps));
  await app.register(async (scope) => linkRoutes(scope, deps));
  await app.register(async (scope) => blockingRoutes(scope, deps));
  await app.register(async (scope) => contactRoutes(scope, deps));
  await app.register(async (scope) => rulesRoutes(scope, deps));
  await app.register(async (scope) => listRoutes(scope, deps));
  await app.register(async (scope) => organiseRoutes(scope, deps));
  await app.register(async (scope) => calendarRoutes(scope, deps));
  await app.register(async (scope) => calendarSchedRoutes(scope, deps));
  await app.register(async (scope) => calendarInviteRoutes(scope, deps));
  await app.register(async (scope) => mtaStsPolicyRoutes(scope, deps));
  await app.register(async (scope) => adminHistoryRoutes(scope, deps));
  await app.register(async (scope) => adminActivityRoutes(scope, deps));
  await app.register(async (scope) => importRoutes(scope, deps));
  await app.register(async (scope) => delegationRoutes(scope, deps));
  await app.register(async (scope) => transferRoutes(scope, deps));
  await app.register(async (scope) => adminUserRoutes(scope, deps, opts.health));
  return app;
}
