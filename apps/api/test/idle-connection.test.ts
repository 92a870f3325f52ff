/**
 * A request whose body never comes. Fastify's default is no timeout at all (`connectionTimeout: 0`
 * and `requestTimeout: 0` replace Node's), so a client that sent its headers and then nothing held
 * its connection, and what it had sent, for ever — over any public POST route, without a session.
 * The API and the web hosts now close a connection that moved nothing for IDLE_CONNECTION_MS
 * (120 s; this test sets 1.5 s), while a request that keeps moving may take as long as it needs.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_CONNECTION_MS } from '@sealmail/server';
import { harness, type Harness } from './helpers';

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await harness({}, { idleConnectionMs: 1500 });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as { port: number }).port;
}, 60_000);
afterAll(() => h?.close());

const open = async () => {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, closed };
};

describe('a connection that moves nothing', () => {
  it('is closed after the idle time (120 s by default, on the API and the web hosts)', { timeout: 30_000 }, async () => {
    expect(IDLE_CONNECTION_MS).toBe(120_000);
    const { socket, closed } = await open();
    const start = Date.now();
    socket.write('POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"address":');
    const at = await closed;
    expect(at - start).toBeGreaterThanOrEqual(1000);
  });

  it('a body that keeps coming, slower than the idle time in all, is answered', { timeout: 30_000 }, async () => {
    const { socket } = await open();
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const body = JSON.stringify({ address: 'nobody@example.test', password: 'a wrong password here' });
    socket.write(`POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    // 3 s in all, a piece every 0.5 s: never 1.5 s without a byte.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      socket.write(body.slice((i * body.length) / 6, ((i + 1) * body.length) / 6));
    }
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
  });
});
