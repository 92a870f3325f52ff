/**
 * The command line against a server that misbehaves: one that never answers, one that stops in
 * the middle of an answer, and one that answers without end. A stand-in HTTPS server on this
 * machine plays the hostile (or broken) server at the other end of the network; the CLI must give
 * up in bounded time and memory, with exit 69 (unreachable) or 1 and a line saying what happened.
 */
import { createServer, type Server } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateTls } from '@sealmail/server';
import { EXIT, run } from '../src/cli';

let dir: string;
let server: Server;
let url: string;
const caFile = () => join(dir, 'cert.pem');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-hostile-'));
  const tls = await loadOrCreateTls({ certFile: caFile(), keyFile: join(dir, 'key.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    if (req.url?.startsWith('/api/v1/info')) {
      // Answers the headers, then nothing more.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"version":');
      return;
    }
    if (req.url?.startsWith('/api/v1/directory/lookup')) {
      // An endless answer: a JSON string that never closes.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"results":"');
      const chunk = 'A'.repeat(1 << 20);
      const more = () => {
        while (res.write(chunk)) if (res.destroyed) return;
      };
      res.on('drain', more);
      res.on('error', () => undefined);
      more();
      return;
    }
    // Everything else: silence (the request is never answered).
  });
  server.on('clientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  url = `https://localhost:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const started = Date.now();
  const code = await run([...argv, '--api', url, '--ca', caFile(), '--profile', join(dir, 'profile')], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readLine: async () => 'password-never-sent-far',
  });
  return { code, out: out.join('\n'), err: err.join('\n'), ms: Date.now() - started };
}

describe('a server that misbehaves', { timeout: 60_000 }, () => {
  it('gives up on a server that does not answer, after --timeout seconds, exit 69', async () => {
    const r = await cli('login', 'alice@example.test', '--timeout', '1');
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toMatch(/no answer from the server for 1 s.*\[NETWORK\]/);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('gives up on an answer that stops half-way, exit 69', async () => {
    const r = await cli('status', '--timeout', '1');
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toMatch(/no answer from the server for 1 s.*\[NETWORK\]/);
  });

  it('stops reading an answer past the bound instead of holding it all, exit 1', async () => {
    const before = process.memoryUsage().rss;
    const r = await cli('lookup', 'bob@example.test', '--timeout', '5');
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toMatch(/answer is larger than .* MiB.*\[BAD_RESPONSE\]/);
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
  });

  it('refuses a --timeout that is not a number of seconds', async () => {
    const r = await cli('status', '--timeout', 'soon');
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/--timeout/);
  });
});
