/**
 * Structured JSON logs (pino) that never carry secrets or message content.
 *
 * Redaction is by key name at any depth up to `REDACT_DEPTH`: passwords, tokens, keys, seeds,
 * cookies and mail content are replaced by "[redacted]". Request URLs are logged without their
 * query string, where tokens tend to hide. A test (test/logger.test.ts) proves it.
 */
import { createHash } from 'node:crypto';
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/** Key names whose values never reach a log line. Compared exactly (pino paths are exact). */
export const SENSITIVE_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'passwordHash',
  'passphrase',
  'token',
  'accessToken',
  'refreshToken',
  'sessionToken',
  'secret',
  'totpSecret',
  'totp',
  'otp',
  'key',
  'privateKey',
  'secretKey',
  'seed',
  'authorization',
  'cookie',
  'set-cookie',
  'body',
  'text',
  'html',
  'subject',
  'plaintext',
  'raw',
  'attachments',
] as const;

const REDACT_DEPTH = 4;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of SENSITIVE_KEYS) {
    const leaf = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
    for (let depth = 0; depth <= REDACT_DEPTH; depth++) {
      const prefix = '*.'.repeat(depth);
      paths.push(leaf.startsWith('[') ? (depth === 0 ? leaf : `${prefix.slice(0, -1)}${leaf}`) : `${prefix}${leaf}`);
    }
  }
  return paths;
}

/**
 * How logs name an expiring link: a hash of its id, never the id (half of the capability: the
 * id is the path, the fragment the password). Enough to tell one link's requests apart.
 */
export function linkLogId(linkId: string): string {
  return `link~${createHash('sha256').update(linkId).digest('base64url').slice(0, 12)}`;
}

/** A request path with expiring-link ids replaced by their log id (API routes and viewer pages). */
export function redactLinkIds(path: string): string {
  return path.replace(/(\/api\/v1\/links\/|^\/m\/)([^/?#]+)/, (_m, prefix: string, id: string) => `${prefix}${linkLogId(id)}`);
}

/** Creates the service logger. `destination` lets tests capture the output. */
export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    ...(opts.name ? { name: opts.name } : {}),
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        // No query string (tokens hide there), no link ids.
        url: typeof req.url === 'string' ? redactLinkIds(req.url.replace(/\?.*$/s, '')) : req.url,
        ip: req.ip,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
