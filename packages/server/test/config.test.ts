import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, loadConfig } from '../src/config';

function problems(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw');
}

describe('configuration', () => {
  it('has working defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toBeUndefined();
    expect(c.ports).toMatchObject({ api: 8440, web: 8443, smtp: 2525 });
    expect(c.demo).toEqual({ seed: true, domain: 'example.test' });
    expect(c.apiUrl).toBe('https://127.0.0.1:8440');
    expect(c.viewerUrl).toBe('https://localhost:8445');
    expect(c.tls.selfSigned).toBe(true);
  });

  it('reads variables and is frozen, deeply', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/sealmail', SEALMAIL_API_PORT: '9000', SEALMAIL_SEED_DEMO: 'false', LOG_LEVEL: 'debug' });
    expect(c.databaseUrl).toBe('postgres://u:p@db:5432/sealmail');
    expect(c.ports.api).toBe(9000);
    expect(c.apiUrl).toBe('https://127.0.0.1:9000');
    expect(c.demo.seed).toBe(false);
    expect(loadConfig({ SEALMAIL_VIEWER_URL: 'https://links.example.com/' }).viewerUrl).toBe('https://links.example.com');
    expect(loadConfig({ SEALMAIL_PUBLIC_HOST: 'mail.example.com', SEALMAIL_VIEWER_PORT: '443' }).viewerUrl).toBe('https://mail.example.com:443');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.ports)).toBe(true);
    expect(() => {
      (c.ports as { api: number }).api = 1;
    }).toThrow(TypeError);
  });

  it('names the variable and what it expects when a value is invalid', () => {
    expect(problems({ SEALMAIL_API_PORT: 'eighty' })).toEqual([
      { variable: 'SEALMAIL_API_PORT', expected: 'expected a port number (1-65535)', got: 'eighty' },
    ]);
    expect(problems({ SEALMAIL_SMTP_PORT: '70000' })[0]).toMatchObject({ variable: 'SEALMAIL_SMTP_PORT', expected: 'expected a port number (1-65535)' });
    expect(problems({ DATABASE_URL: 'mysql://x' })[0]).toMatchObject({ variable: 'DATABASE_URL', expected: expect.stringContaining('postgres://') });
    expect(problems({ LOG_LEVEL: 'loud' })[0]).toMatchObject({ variable: 'LOG_LEVEL', expected: expect.stringContaining('info') });
    expect(problems({ SEALMAIL_VIEWER_URL: 'http://links.example.com' })[0]).toMatchObject({ variable: 'SEALMAIL_VIEWER_URL', expected: expect.stringContaining('https://') });
    expect(problems({ SEALMAIL_SEED_DEMO: 'maybe' })[0]).toMatchObject({ variable: 'SEALMAIL_SEED_DEMO', expected: 'expected true or false' });
    expect(problems({ SEALMAIL_TLS_CERT: '/etc/cert.pem' })[0]).toMatchObject({ variable: 'SEALMAIL_TLS_KEY' });
  });

  it('reports every invalid variable at once, in the message too', () => {
    try {
      loadConfig({ SEALMAIL_API_PORT: 'x', SEALMAIL_WEB_PORT: '0' });
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.problems.map((p) => p.variable).sort()).toEqual(['SEALMAIL_API_PORT', 'SEALMAIL_WEB_PORT']);
      expect(e.message).toContain('SEALMAIL_API_PORT: expected a port number (1-65535) (got "x")');
    }
  });

  it('names the web client and admin console origins (CSRF), with loopback aliases for localhost', () => {
    const c = loadConfig({});
    expect(c.appOrigins.web).toEqual(['https://localhost:8443', 'https://127.0.0.1:8443', 'https://[::1]:8443']);
    expect(c.appOrigins.admin).toContain('https://localhost:8444');
    const own = loadConfig({ SEALMAIL_WEB_URL: 'https://mail.example.com/', SEALMAIL_ADMIN_URL: 'https://admin.example.com:8444' });
    expect(own.appOrigins).toEqual({ web: ['https://mail.example.com'], admin: ['https://admin.example.com:8444'] });
    expect(() => loadConfig({ SEALMAIL_WEB_URL: 'http://mail.example.com' })).toThrow(/SEALMAIL_WEB_URL/);
  });

  it('reads the sign-in throttle and trusted proxies, and refuses the removed per-organisation limits', () => {
    const d = loadConfig({});
    expect(d.auth).toMatchObject({ signInFreeFailures: 5, signInFreeFailuresPerIp: 50, signInMaxDelayMs: 900_000, reauthWindowMs: 300_000 });
    // The bundled web hosts reach the API over loopback and forward the client's address.
    expect(d.trustedProxies).toEqual(['loopback']);
    expect(d.webTrustedProxies).toEqual([]);
    expect(loadConfig({ SEALMAIL_TRUSTED_PROXIES: 'none' }).trustedProxies).toEqual([]);
    expect(loadConfig({ SEALMAIL_WEB_TRUSTED_PROXIES: '192.0.2.1' }).webTrustedProxies).toEqual(['192.0.2.1']);
    const c = loadConfig({ SEALMAIL_TRUSTED_PROXIES: '10.0.0.0/8, ::1 ,loopback,192.0.2.7', SEALMAIL_SIGNIN_FREE_FAILURES: '3', SEALMAIL_SIGNIN_MAX_DELAY_SECONDS: '60' });
    expect(c.trustedProxies).toEqual(['10.0.0.0/8', '::1', 'loopback', '192.0.2.7']);
    expect(c.auth).toMatchObject({ signInFreeFailures: 3, signInMaxDelayMs: 60_000 });
    for (const bad of ['10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1', 'fe80::/129', '*'])
      expect(problems({ SEALMAIL_TRUSTED_PROXIES: bad })[0], bad).toMatchObject({ variable: 'SEALMAIL_TRUSTED_PROXIES', expected: expect.stringContaining('CIDR') });
    expect(problems({ SEALMAIL_SIGNIN_FREE_FAILURES: '0' })[0]).toMatchObject({ variable: 'SEALMAIL_SIGNIN_FREE_FAILURES', expected: 'expected at least 1' });
    expect(problems({ SEALMAIL_SIGNIN_LIMIT_PER_ACCOUNT: '200' })[0]).toMatchObject({ variable: 'SEALMAIL_SIGNIN_LIMIT_PER_ACCOUNT', expected: expect.stringContaining('removed') });
    expect(problems({ SEALMAIL_SIGNIN_LIMIT_PER_ADDRESS: '10' })[0]).toMatchObject({ variable: 'SEALMAIL_SIGNIN_LIMIT_PER_ADDRESS', expected: expect.stringContaining('SEALMAIL_SIGNIN_FREE_FAILURES') });
  });

  it('limits SMTP sessions and message bytes in memory, and refuses a byte budget smaller than the largest message', () => {
    expect(loadConfig({}).smtp).toMatchObject({ maxSessions: 200, maxBytesInFlight: 256 * 1024 * 1024 });
    expect(loadConfig({ SEALMAIL_SMTP_MAX_SESSIONS: '50', SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT: '104857600' }).smtp).toMatchObject({ maxSessions: 50, maxBytesInFlight: 104857600 });
    expect(problems({ SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT: '1048576' })).toEqual([{ variable: 'SEALMAIL_SMTP_MAX_BYTES_IN_FLIGHT', expected: `at least SEALMAIL_MAX_MESSAGE_BYTES (${35 * 1024 * 1024})`, got: '1048576' }]);
    expect(problems({ SEALMAIL_SMTP_MAX_SESSIONS: '0' })[0]).toMatchObject({ variable: 'SEALMAIL_SMTP_MAX_SESSIONS', expected: 'expected at least 1' });
    expect(loadConfig({}).smtp.sealWorkers).toBe(0);
    expect(loadConfig({ SEALMAIL_SMTP_SEAL_WORKERS: '2' }).smtp.sealWorkers).toBe(2);
    expect(problems({ SEALMAIL_SMTP_SEAL_WORKERS: '-1' })[0]).toMatchObject({ variable: 'SEALMAIL_SMTP_SEAL_WORKERS', expected: 'expected at least 0' });
  });

  it('reads the PROXY protocol only from the load balancers listed, and names an address that is not one', () => {
    expect(loadConfig({}).smtp.proxyFrom).toEqual([]);
    expect(loadConfig({ SEALMAIL_SMTP_PROXY_FROM: '10.0.0.5, fd00::7' }).smtp.proxyFrom).toEqual(['10.0.0.5', 'fd00::7']);
    expect(problems({ SEALMAIL_SMTP_PROXY_FROM: '10.0.0.5,lb.internal' })[0]).toMatchObject({ variable: 'SEALMAIL_SMTP_PROXY_FROM', expected: 'expected comma-separated IP addresses' });
  });

  it('chooses the blob store: Postgres by default, a directory or an S3-compatible bucket when asked, and names what is missing', () => {
    expect(loadConfig({}).blobStore).toEqual({ kind: 'postgres' });
    const s3 = { SEALMAIL_BLOB_STORE: 's3', SEALMAIL_S3_ENDPOINT: 'http://127.0.0.1:9000', SEALMAIL_S3_BUCKET: 'sealmail-blobs', SEALMAIL_S3_FORCE_PATH_STYLE: 'true', SEALMAIL_S3_ACCESS_KEY_ID: 'id', SEALMAIL_S3_SECRET_ACCESS_KEY: 'secret' };
    expect(loadConfig(s3).blobStore).toEqual({ kind: 's3', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'sealmail-blobs', prefix: 'blobs/', forcePathStyle: true, accessKeyId: 'id', secretAccessKey: 'secret' });
    expect(problems({ SEALMAIL_BLOB_STORE: 's3' })).toEqual([{ variable: 'SEALMAIL_S3_BUCKET', expected: 'a bucket name when SEALMAIL_BLOB_STORE=s3', got: undefined }]);
    const { SEALMAIL_S3_SECRET_ACCESS_KEY: _secret, ...noSecret } = s3;
    expect(problems(noSecret)[0]).toMatchObject({ variable: 'SEALMAIL_S3_SECRET_ACCESS_KEY' });
    expect(problems({ SEALMAIL_BLOB_STORE: 'tape' })[0]).toMatchObject({ variable: 'SEALMAIL_BLOB_STORE', expected: 'expected postgres, disk or s3' });
    // The disk store: under the data directory unless SEALMAIL_BLOB_DIR says where.
    expect(loadConfig({ SEALMAIL_BLOB_STORE: 'disk', SEALMAIL_DATA_DIR: '/var/lib/sealmail' }).blobStore).toEqual({ kind: 'disk', dir: '/var/lib/sealmail/blobs' });
    expect(loadConfig({ SEALMAIL_BLOB_STORE: 'disk', SEALMAIL_BLOB_DIR: '/srv/blobs' }).blobStore).toEqual({ kind: 'disk', dir: '/srv/blobs' });
    expect(problems({ ...s3, SEALMAIL_S3_BUCKET: 'Bad_Bucket' })[0]).toMatchObject({ variable: 'SEALMAIL_S3_BUCKET' });
    expect(problems({ ...s3, SEALMAIL_S3_ENDPOINT: 'ftp://x' })[0]).toMatchObject({ variable: 'SEALMAIL_S3_ENDPOINT' });
  });

  it('lists its variables', () => {
    expect(configVariables).toContain('DATABASE_URL');
    expect(configVariables).toContain('SEALMAIL_DATA_DIR');
  });
});

describe('README', () => {
  it('documents every configuration variable', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const v of configVariables) expect(readme, v).toContain(`\`${v}\``);
  });
});
