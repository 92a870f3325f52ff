/**
 * The configuration module: the one place in Sealmail that reads the environment.
 *
 * `loadConfig()` reads every variable once, validates it with zod and returns a frozen object.
 * An invalid value stops start-up with a message naming the variable and what it expects.
 * Every variable is listed in README.md ("Configuration").
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a port number (1-65535)' })
    .int('expected a port number (1-65535)')
    .min(1, 'expected a port number (1-65535)')
    .max(65535, 'expected a port number (1-65535)')
    .default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(fallback);

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/.+/, 'expected a postgres:// or postgresql:// connection URL');

/** One entry of SEALMAIL_TRUSTED_PROXIES, as Fastify's `trustProxy` (proxy-addr) accepts it. */
function isAddressOrCidr(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [addr, bits, ...rest] = entry.split('/');
  const family = isIP(addr ?? '');
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** A comma-separated list of proxies (addresses, CIDR ranges, loopback/linklocal/uniquelocal); `none` for none. */
const proxyList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => (v.trim() === 'none' ? [] : v.split(',').map((p) => p.trim()).filter(Boolean)))
    .refine((list) => list.every(isAddressOrCidr), 'expected a comma-separated list of IP addresses or CIDR ranges (e.g. 10.0.0.0/8, ::1), loopback / linklocal / uniquelocal, or none');

const hostname = z.string().regex(/^[A-Za-z0-9.:-]+$/, 'expected a host name or IP address');

/** Environment variable → schema. The keys are the variable names. */
const envSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  SEALMAIL_DATA_DIR: z.string().min(1, 'expected a directory path').default('.sealmail'),
  SEALMAIL_BIND_HOST: hostname.default('127.0.0.1'),
  SEALMAIL_PUBLIC_HOST: hostname.default('localhost'),
  SEALMAIL_API_PORT: port(8440),
  SEALMAIL_WEB_PORT: port(8443),
  SEALMAIL_ADMIN_PORT: port(8444),
  SEALMAIL_VIEWER_PORT: port(8445),
  SEALMAIL_SMTP_PORT: port(2525),
  SEALMAIL_SMTPS_PORT: port(2465),
  SEALMAIL_PG_PORT: port(54329),
  SEALMAIL_API_URL: z.url({ error: 'expected an https:// URL of the API' }).optional(),
  SEALMAIL_VIEWER_URL: z.url({ protocol: /^https$/, error: 'expected the https:// URL where outside recipients open expiring links' }).optional(),
  SEALMAIL_WEB_URL: z.url({ protocol: /^https$/, error: 'expected the https:// URL of the web client as browsers open it' }).optional(),
  SEALMAIL_ADMIN_URL: z.url({ protocol: /^https$/, error: 'expected the https:// URL of the admin console as browsers open it' }).optional(),
  SEALMAIL_TLS_CERT: z.string().min(1).optional(),
  SEALMAIL_TLS_KEY: z.string().min(1).optional(),
  SEALMAIL_DEMO_DOMAIN: hostname.default('example.test'),
  SEALMAIL_SEED_DEMO: bool(true),
  SEALMAIL_SMTP_HOSTNAME: hostname.default('localhost'),
  SEALMAIL_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024, 'expected at least 1024 bytes').default(35 * 1024 * 1024),
  SEALMAIL_SMTP_MAX_SESSIONS: z.coerce.number({ error: 'expected a count' }).int('expected a whole count').min(1, 'expected at least 1').max(100_000, 'expected at most 100000').default(200),
  // Comma-separated addresses of load balancers sending a PROXY protocol v1 header (docs/operations.md).
  SEALMAIL_SMTP_PROXY_FROM: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .refine((l) => l.every((a) => isIP(a) !== 0), 'expected comma-separated IP addresses'),
  SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT: z.coerce.number({ error: 'expected bytes' }).int('expected whole bytes').min(1024, 'expected at least 1024 bytes').default(256 * 1024 * 1024),
  SEALMAIL_SMTP_SEAL_WORKERS: z.coerce.number({ error: 'expected a count' }).int('expected a whole count').min(0, 'expected at least 0').max(64, 'expected at most 64').default(0),
  SEALMAIL_SPAM_THRESHOLD: z.coerce.number({ error: 'expected a number of points' }).min(0, 'expected at least 0').max(1000, 'expected at most 1000').default(5),
  SEALMAIL_SESSION_IDLE_MINUTES: z.coerce.number({ error: 'expected minutes' }).int('expected whole minutes').min(1, 'expected at least 1 minute').default(12 * 60),
  SEALMAIL_SESSION_MAX_DAYS: z.coerce.number({ error: 'expected days' }).int('expected whole days').min(1, 'expected at least 1 day').max(365, 'expected at most 365 days').default(14),
  SEALMAIL_SIGNIN_FREE_FAILURES: z.coerce.number({ error: 'expected a count' }).int('expected a whole count').min(1, 'expected at least 1').max(1000, 'expected at most 1000').default(5),
  SEALMAIL_SIGNIN_FREE_FAILURES_PER_IP: z.coerce.number({ error: 'expected a count' }).int('expected a whole count').min(1, 'expected at least 1').max(100000, 'expected at most 100000').default(50),
  SEALMAIL_SIGNIN_MAX_DELAY_SECONDS: z.coerce.number({ error: 'expected seconds' }).int('expected whole seconds').min(1, 'expected at least 1 second').max(86400, 'expected at most 86400 seconds').default(900),
  SEALMAIL_TRUSTED_PROXIES: proxyList('loopback'),
  SEALMAIL_WEB_TRUSTED_PROXIES: proxyList(''),
  SEALMAIL_OUTBOUND_LEASE_SECONDS: z.coerce.number({ error: 'expected seconds' }).int('expected whole seconds').min(2, 'expected at least 2 seconds').max(86400, 'expected at most 86400 seconds').default(900),
  SEALMAIL_OUTBOUND_SWEEP_SECONDS: z.coerce.number({ error: 'expected seconds' }).int('expected whole seconds').min(1, 'expected at least 1 second').max(3600, 'expected at most 3600 seconds').default(60),
  SEALMAIL_RELAY_PORT: port(25),
  SEALMAIL_RELAY_ALLOW_PRIVATE: bool(false),
  SEALMAIL_API_CACHE: bool(true),
  SEALMAIL_API_CACHE_MB: z.coerce.number({ error: 'expected megabytes' }).int('expected whole megabytes').min(1, 'expected at least 1 MB').max(65536, 'expected at most 65536 MB').default(64),
  SEALMAIL_DNS_TABLE: z.string().min(1, 'expected the path of a JSON file').optional(),
  SEALMAIL_CLOCK_FILE: z.string().min(1, 'expected the path of a file').optional(),
  SEALMAIL_BLOB_STORE: z.enum(['postgres', 'disk', 's3'], { error: 'expected postgres, disk or s3' }).default('postgres'),
  SEALMAIL_BLOB_DIR: z.string().min(1, 'expected a directory path').optional(),
  SEALMAIL_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected the http(s):// URL of the S3-compatible server (e.g. https://minio.internal:9000)' }).optional(),
  SEALMAIL_S3_REGION: z.string().regex(/^[a-z0-9-]+$/, 'expected a region name such as us-east-1').default('us-east-1'),
  SEALMAIL_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected a bucket name (3-63 lower-case letters, digits, dots, hyphens)').optional(),
  SEALMAIL_S3_PREFIX: z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, 'expected a key prefix ending in / (e.g. blobs/), or empty').default('blobs/'),
  SEALMAIL_S3_FORCE_PATH_STYLE: bool(false),
  SEALMAIL_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  SEALMAIL_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
});

export interface Config {
  /** Absent: the start command runs its own embedded Postgres. */
  readonly databaseUrl: string | undefined;
  /** Where the embedded Postgres, the TLS certificate and the demo credentials live. */
  readonly dataDir: string;
  readonly bindHost: string;
  readonly publicHost: string;
  readonly ports: Readonly<{ api: number; web: number; admin: number; viewer: number; smtp: number; smtps: number; postgres: number }>;
  /** The API's base URL as the web hosts reach it. */
  readonly apiUrl: string;
  /** The link viewer's public origin, as outside recipients reach it (links in notices point here). */
  readonly viewerUrl: string;
  /**
   * The origins browsers load the web client and the admin console from: cookie-authenticated
   * state-changing API requests must come from one of their own app's origins (CSRF).
   */
  readonly appOrigins: Readonly<AppOrigins>;
  readonly tls: Readonly<{ certFile: string; keyFile: string; selfSigned: boolean }>;
  readonly demo: Readonly<{ seed: boolean; domain: string }>;
  /** spamThreshold: inbound mail scoring above it is filed in Spam (docs/mail.md §7.1). */
  readonly smtp: Readonly<{ hostname: string; maxMessageBytes: number; spamThreshold: number; maxSessions: number; maxBytesInFlight: number; proxyFrom: readonly string[]; sealWorkers: number }>;
  readonly auth: Readonly<AuthSettings>;
  /**
   * Proxies (addresses or CIDR ranges) whose X-Forwarded-For the API believes for the client
   * address; empty: the peer address is the client (Fastify `trustProxy`).
   */
  readonly trustedProxies: readonly string[];
  /** The same for the web hosts (proxies in front of them); empty: the TCP peer is the client. */
  readonly webTrustedProxies: readonly string[];
  /**
   * The outbound relay (docs/operations.md "Scaling out"): how long a worker leases the
   * deliveries it tries (renewed while it works; a killed worker's are free again after it), how
   * often each API process looks for due deliveries, the remote MX port (25; tests and labs use
   * another) and whether loopback/private targets may be delivered to (labs and tests only).
   */
  readonly outbound: Readonly<{ leaseSeconds: number; sweepSeconds: number; port: number; allowPrivateTargets: boolean }>;
  /**
   * Each API process's cache of session lookups, list rows and counts, kept right by Postgres
   * NOTIFY on `sealmail_cache` (docs/performance.md "A per-process cache kept right by Postgres"):
   * on or off, and the bound of its cached bodies in bytes.
   */
  readonly apiCache: Readonly<{ enabled: boolean; maxBytes: number }>;
  readonly logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Where blob bytes (sealed attachment pieces) live (docs/operations.md, "Object storage"). */
  readonly blobStore: Readonly<BlobStoreConfig>;
  /** The S3 bucket whenever SEALMAIL_S3_BUCKET is set, whichever store is in use (the blob migration reads it). */
  readonly s3: Readonly<S3Config> | undefined;
  /** The disk store's directory (SEALMAIL_BLOB_DIR, default `<data dir>/blobs`), whichever store is in use (the blob migration reads it). */
  readonly blobDir: string;
  /**
   * Tests only: a JSON file of DNS answers (packages/server/src/dns.ts) used instead of the
   * system resolver by every DNS lookup; absent: real DNS.
   */
  readonly dnsTableFile: string | undefined;
  /**
   * Tests only: a file holding a number of milliseconds the API's clock runs ahead of real time
   * (packages/server/src/clock.ts); absent: the real clock.
   */
  readonly clockFile: string | undefined;
}

/**
 * The blob store: the database (`blob_parts`), or an S3-compatible bucket; metadata stays in
 * Postgres either way. Credentials absent: the AWS SDK's default chain (e.g. an instance role).
 */
export type BlobStoreConfig = { kind: 'postgres' } | { kind: 'disk'; dir: string } | ({ kind: 's3' } & S3Config);

export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
}

/** The origins (scheme://host:port) of the web client and the admin console. */
export interface AppOrigins {
  web: readonly string[];
  admin: readonly string[];
}

/** An origin and, for a loopback public host, its loopback aliases (localhost, 127.0.0.1, [::1]). */
function originsOf(url: string): string[] {
  const u = new URL(url);
  const loopback = ['localhost', '127.0.0.1', '[::1]'];
  if (!loopback.includes(u.hostname)) return [u.origin];
  return loopback.map((h) => `${u.protocol}//${h}${u.port ? `:${u.port}` : ''}`);
}

/** The origins of a default local start (public host localhost, ports 8443 and 8444). */
export const defaultAppOrigins: Readonly<AppOrigins> = Object.freeze({
  web: Object.freeze(originsOf('https://localhost:8443')),
  admin: Object.freeze(originsOf('https://localhost:8444')),
});

/**
 * Session lifetimes and the sign-in throttle (docs/operations.md, "Security"): failures are
 * counted per client address and per (client address, account) over `signInFailureWindowMs`;
 * past the free ones, each further failure makes that key wait twice as long as the last
 * (1 s, 2 s, 4 s, …, at most `signInMaxDelayMs`). Nothing is counted per organisation.
 */
export interface AuthSettings {
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** Failures from one client address for one account before delays start. */
  signInFreeFailures: number;
  /** Failures from one client address (any accounts, unknown addresses too) before delays start. */
  signInFreeFailuresPerIp: number;
  signInMaxDelayMs: number;
  signInFailureWindowMs: number;
  /** How long a re-authentication counts as fresh for sensitive switches. */
  reauthWindowMs: number;
}

export const defaultAuthSettings: AuthSettings = Object.freeze({
  sessionIdleMs: 12 * 3600_000,
  sessionMaxMs: 14 * 24 * 3600_000,
  signInFreeFailures: 5,
  signInFreeFailuresPerIp: 50,
  signInMaxDelayMs: 15 * 60_000,
  signInFailureWindowMs: 24 * 3600_000,
  reauthWindowMs: 5 * 60_000,
});

/** Variables that Sealmail no longer reads; setting one stops start-up with what replaced it. */
const removedVariables: Record<string, string> = {
  SEALMAIL_SIGNIN_LIMIT_PER_ADDRESS: 'removed: sign-in is throttled by client address and (client address, account); use SEALMAIL_SIGNIN_FREE_FAILURES',
  SEALMAIL_SIGNIN_LIMIT_PER_ACCOUNT: 'removed: nothing is counted per organisation any more (it let anyone lock an organisation out); use SEALMAIL_SIGNIN_FREE_FAILURES_PER_IP',
};

/** Thrown by loadConfig; `problems` names each variable and what it expects. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { variable: string; expected: string; got: string | undefined }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map((p) => `  ${p.variable}: ${p.expected} (got ${p.got === undefined ? 'nothing' : JSON.stringify(p.got)})`).join('\n'),
    );
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Reads and validates the configuration.
 * @param env the variables to read; defaults to the process environment (the only use of it).
 * @throws ConfigError naming every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const removed = Object.keys(removedVariables).filter((k) => env[k] !== undefined && env[k] !== '');
  if (removed.length) throw new ConfigError(removed.map((variable) => ({ variable, expected: removedVariables[variable]!, got: env[variable] })));
  const parsed = envSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const variable = String(i.path[0]);
        return { variable, expected: i.message, got: known[variable] };
      }),
    );
  }
  const e = parsed.data;
  if ((e.SEALMAIL_TLS_CERT === undefined) !== (e.SEALMAIL_TLS_KEY === undefined)) {
    const variable = e.SEALMAIL_TLS_CERT === undefined ? 'SEALMAIL_TLS_CERT' : 'SEALMAIL_TLS_KEY';
    throw new ConfigError([{ variable, expected: 'SEALMAIL_TLS_CERT and SEALMAIL_TLS_KEY are set together', got: undefined }]);
  }
  if (e.SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT < e.SEALMAIL_MAX_MESSAGE_BYTES) {
    // A message the server advertises it takes must fit, or its sender would get a 452 for ever.
    throw new ConfigError([{ variable: 'SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT', expected: `at least SEALMAIL_MAX_MESSAGE_BYTES (${e.SEALMAIL_MAX_MESSAGE_BYTES})`, got: String(e.SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT) }]);
  }
  if ((e.SEALMAIL_S3_ACCESS_KEY_ID === undefined) !== (e.SEALMAIL_S3_SECRET_ACCESS_KEY === undefined)) {
    const variable = e.SEALMAIL_S3_ACCESS_KEY_ID === undefined ? 'SEALMAIL_S3_ACCESS_KEY_ID' : 'SEALMAIL_S3_SECRET_ACCESS_KEY';
    throw new ConfigError([{ variable, expected: 'SEALMAIL_S3_ACCESS_KEY_ID and SEALMAIL_S3_SECRET_ACCESS_KEY are set together', got: undefined }]);
  }
  if (e.SEALMAIL_BLOB_STORE === 's3' && !e.SEALMAIL_S3_BUCKET) {
    throw new ConfigError([{ variable: 'SEALMAIL_S3_BUCKET', expected: 'a bucket name when SEALMAIL_BLOB_STORE=s3', got: undefined }]);
  }
  const s3: S3Config | undefined = e.SEALMAIL_S3_BUCKET
    ? { endpoint: e.SEALMAIL_S3_ENDPOINT, region: e.SEALMAIL_S3_REGION, bucket: e.SEALMAIL_S3_BUCKET, prefix: e.SEALMAIL_S3_PREFIX, forcePathStyle: e.SEALMAIL_S3_FORCE_PATH_STYLE, accessKeyId: e.SEALMAIL_S3_ACCESS_KEY_ID, secretAccessKey: e.SEALMAIL_S3_SECRET_ACCESS_KEY }
    : undefined;
  const dataDir = resolve(e.SEALMAIL_DATA_DIR);
  const blobDir = e.SEALMAIL_BLOB_DIR ? resolve(e.SEALMAIL_BLOB_DIR) : resolve(dataDir, 'blobs');
  const blobStore: BlobStoreConfig = e.SEALMAIL_BLOB_STORE === 's3' ? { kind: 's3', ...s3! } : e.SEALMAIL_BLOB_STORE === 'disk' ? { kind: 'disk', dir: blobDir } : { kind: 'postgres' };
  return deepFreeze({
    databaseUrl: e.DATABASE_URL,
    dataDir,
    bindHost: e.SEALMAIL_BIND_HOST,
    publicHost: e.SEALMAIL_PUBLIC_HOST,
    ports: {
      api: e.SEALMAIL_API_PORT,
      web: e.SEALMAIL_WEB_PORT,
      admin: e.SEALMAIL_ADMIN_PORT,
      viewer: e.SEALMAIL_VIEWER_PORT,
      smtp: e.SEALMAIL_SMTP_PORT,
      smtps: e.SEALMAIL_SMTPS_PORT,
      postgres: e.SEALMAIL_PG_PORT,
    },
    apiUrl: e.SEALMAIL_API_URL ?? `https://127.0.0.1:${e.SEALMAIL_API_PORT}`,
    viewerUrl: (e.SEALMAIL_VIEWER_URL ?? `https://${e.SEALMAIL_PUBLIC_HOST}:${e.SEALMAIL_VIEWER_PORT}`).replace(/\/+$/, ''),
    appOrigins: {
      web: originsOf(e.SEALMAIL_WEB_URL ?? `https://${e.SEALMAIL_PUBLIC_HOST}:${e.SEALMAIL_WEB_PORT}`),
      admin: originsOf(e.SEALMAIL_ADMIN_URL ?? `https://${e.SEALMAIL_PUBLIC_HOST}:${e.SEALMAIL_ADMIN_PORT}`),
    },
    tls: {
      certFile: e.SEALMAIL_TLS_CERT ?? resolve(dataDir, 'tls', 'cert.pem'),
      keyFile: e.SEALMAIL_TLS_KEY ?? resolve(dataDir, 'tls', 'key.pem'),
      selfSigned: e.SEALMAIL_TLS_CERT === undefined,
    },
    demo: { seed: e.SEALMAIL_SEED_DEMO, domain: e.SEALMAIL_DEMO_DOMAIN },
    smtp: { hostname: e.SEALMAIL_SMTP_HOSTNAME, maxMessageBytes: e.SEALMAIL_MAX_MESSAGE_BYTES, spamThreshold: e.SEALMAIL_SPAM_THRESHOLD, maxSessions: e.SEALMAIL_SMTP_MAX_SESSIONS, maxBytesInFlight: e.SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT, proxyFrom: e.SEALMAIL_SMTP_PROXY_FROM, sealWorkers: e.SEALMAIL_SMTP_SEAL_WORKERS },
    auth: {
      sessionIdleMs: e.SEALMAIL_SESSION_IDLE_MINUTES * 60_000,
      sessionMaxMs: e.SEALMAIL_SESSION_MAX_DAYS * 24 * 3600_000,
      signInFreeFailures: e.SEALMAIL_SIGNIN_FREE_FAILURES,
      signInFreeFailuresPerIp: e.SEALMAIL_SIGNIN_FREE_FAILURES_PER_IP,
      signInMaxDelayMs: e.SEALMAIL_SIGNIN_MAX_DELAY_SECONDS * 1000,
      signInFailureWindowMs: defaultAuthSettings.signInFailureWindowMs,
      reauthWindowMs: defaultAuthSettings.reauthWindowMs,
    },
    trustedProxies: e.SEALMAIL_TRUSTED_PROXIES,
    webTrustedProxies: e.SEALMAIL_WEB_TRUSTED_PROXIES,
    outbound: { leaseSeconds: e.SEALMAIL_OUTBOUND_LEASE_SECONDS, sweepSeconds: e.SEALMAIL_OUTBOUND_SWEEP_SECONDS, port: e.SEALMAIL_RELAY_PORT, allowPrivateTargets: e.SEALMAIL_RELAY_ALLOW_PRIVATE },
    apiCache: { enabled: e.SEALMAIL_API_CACHE, maxBytes: e.SEALMAIL_API_CACHE_MB * 1024 * 1024 },
    logLevel: e.LOG_LEVEL,
    blobStore,
    blobDir,
    s3,
    dnsTableFile: e.SEALMAIL_DNS_TABLE === undefined ? undefined : resolve(e.SEALMAIL_DNS_TABLE),
    clockFile: e.SEALMAIL_CLOCK_FILE === undefined ? undefined : resolve(e.SEALMAIL_CLOCK_FILE),
  });
}

/** The variable names the configuration reads, for docs and tests. */
export const configVariables = Object.keys(envSchema.shape);

/** Loads the configuration, or prints the problems and exits with status 78 (EX_CONFIG). */
export function loadConfigOrExit(env?: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sealmail: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/**
 * The environment for a child process the start command launches: this process's environment
 * plus `overrides` (e.g. the embedded Postgres's DATABASE_URL).
 */
/**
 * glibc malloc settings for the SMTP process (read by glibc at process start, so they are set by
 * whoever starts it: scripts/start.ts, docker-compose.yml). A fixed mmap threshold returns every
 * buffer of 128 KiB or more (sealed chunks, blob parts) to the system when it is freed; glibc's
 * default raises the threshold to the largest buffer freed (up to 32 MiB), after which such
 * buffers come from arenas that keep the memory. Two arenas instead of eight per core. The ingest
 * bench measured RSS after twenty 25 MiB messages back near idle with them, ~35–90 MB above without
 * (docs/performance.md, "Ingest").
 */
export const SMTP_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_ARENA_MAX: '2' };

export function childEnvironment(overrides: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return { ...env, ...overrides };
}
