import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, linkLogId, redactLinkIds } from '../src/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'trace', destination }) };
}

const CANARY = 'canary-7f3a9c';

describe('log redaction', () => {
  it('removes secrets and content at every depth', () => {
    const { lines, logger } = capture();
    logger.info({ password: CANARY, user: { token: CANARY, profile: { totpSecret: CANARY } } }, 'sign-in');
    logger.info({ mail: { subject: CANARY, body: CANARY, attachments: [CANARY] }, a: { b: { c: { privateKey: CANARY, seed: CANARY } } } }, 'mail');
    logger.info({ headers: { authorization: `Bearer ${CANARY}`, cookie: `s=${CANARY}`, 'set-cookie': CANARY } }, 'headers');
    logger.info({ key: CANARY, raw: CANARY, text: CANARY, html: CANARY, passphrase: CANARY }, 'misc');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).not.toContain(CANARY);
    expect(lines.join('\n')).toContain('[redacted]');
    // What is not secret stays readable.
    logger.info({ user: { address: 'alice@example.test' } }, 'ok');
    expect(lines.at(-1)).toContain('alice@example.test');
  });

  it('keeps secrets out of Fastify request logs (headers, bodies, query strings)', async () => {
    const { lines, logger } = capture();
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    app.post('/sign-in', async (req) => {
      req.log.info({ body: req.body }, 'handling');
      return { ok: true };
    });
    const res = await app.inject({
      method: 'POST',
      url: `/sign-in?token=${CANARY}`,
      headers: { authorization: `Bearer ${CANARY}`, cookie: `sid=${CANARY}` },
      payload: { address: 'alice@example.test', password: CANARY },
    });
    expect(res.statusCode).toBe(200);
    await app.close();
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(CANARY);
    const incoming = lines.map((l) => JSON.parse(l) as { msg: string; req?: { url: string } }).find((l) => l.msg === 'incoming request');
    expect(incoming?.req?.url).toBe('/sign-in');
  });

  it('writes structured JSON', () => {
    const { lines, logger } = capture();
    logger.warn({ requestId: 'r1' }, 'hello');
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 40, requestId: 'r1', msg: 'hello' });
    expect(typeof parsed.time).toBe('number');
  });
});

describe('expiring-link ids in request paths', () => {
  it('are replaced by a hash on the API routes and the viewer pages', () => {
    const id = 'AbCdEfGhIjKlMnOpQrStUv';
    expect(redactLinkIds(`/api/v1/links/${id}`)).toBe(`/api/v1/links/${linkLogId(id)}`);
    expect(redactLinkIds(`/api/v1/links/${id}/pieces/3`)).toBe(`/api/v1/links/${linkLogId(id)}/pieces/3`);
    expect(redactLinkIds(`/m/${id}`)).toBe(`/m/${linkLogId(id)}`);
    expect(redactLinkIds('/api/v1/mail/messages')).toBe('/api/v1/mail/messages');
    expect(linkLogId(id)).toBe(linkLogId(id));
    expect(linkLogId(id)).not.toBe(linkLogId(id.toLowerCase()));
  });

  it('never reach a request log line of the viewer host', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => void (lines.push(c.toString()), cb()) }) });
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    app.get('/m/:id', async () => 'page');
    await app.inject({ method: 'GET', url: '/m/AbCdEfGhIjKlMnOpQrStUv?x=1' });
    await app.close();
    expect(lines.join('')).toContain('/m/link~');
    expect(lines.join('')).not.toContain('AbCdEfGhIjKlMnOpQrStUv');
  });
});
