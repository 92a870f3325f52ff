/**
 * The edge of every Sealmail HTTPS listener (the API and the web hosts): security headers, and
 * the answers that Node's HTTP parser and Fastify's router give before any route runs (431, 414,
 * a malformed request or URL), all in the registry format `{ error: { code, message } }`.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errorRegistry, type ErrorCode } from '@sealmail/contract';

/**
 * Headers on every API response (errors and 404s included). The API only speaks JSON and
 * octet streams: nothing may be cached (sign-in answers carry tokens), sniffed, framed or sent
 * on as a referrer.
 */
/**
 * How long a connection may send and receive nothing before it is closed (the API and every web
 * host). Fastify's default is none: a client that sent its headers and then no body held its
 * connection, and what it had sent, for ever. Not a limit on whole requests — a 20 GiB import
 * upload may take as long as it keeps moving — and the mail event stream's heartbeats (25 s) keep
 * it open.
 */
export const IDLE_CONNECTION_MS = 120_000;

export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'strict-transport-security': 'max-age=31536000',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});

/**
 * Longest path parameter the routers accept (Fastify's default is 100). An address has up to
 * 254 characters, and percent-encoding can triple it.
 */
export const MAX_PARAM_LENGTH = 1024;

/** The raw HTTP/1.1 answer for a registry code, for sockets no Fastify reply exists for. */
export function rawErrorResponse(code: ErrorCode, headers: Readonly<Record<string, string>>): string {
  const status = errorRegistry[code].status;
  const body = JSON.stringify(errorBody(code));
  const reason: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' };
  const lines = [
    `HTTP/1.1 ${status} ${reason[status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Fastify `clientErrorHandler`: what Node's HTTP parser refuses (headers over 16 KiB, which a
 * very long URL also is: 431; anything else not HTTP: 400) is answered in the registry format.
 */
export function edgeClientErrorHandler(headers: Readonly<Record<string, string>>) {
  return function onClientError(err: Error & { code?: string }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    // A request that timed out has nobody waiting for an answer.
    if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable) {
      socket.write(rawErrorResponse(err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'MALFORMED_REQUEST', headers));
    }
    socket.destroy(err);
  };
}

/** Fastify `frameworkErrors`: the router's own refusals (bad percent-encoding, over-long parameter). */
export function edgeFrameworkErrors(headers: Readonly<Record<string, string>>) {
  return function onFrameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
    const code: ErrorCode = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'URI_TOO_LONG' : 'MALFORMED_REQUEST';
    void reply.code(errorRegistry[code].status).headers(headers).send(errorBody(code));
  };
}
