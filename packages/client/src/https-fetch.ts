/**
 * A fetch for Node clients (the CLI, scripts, tests) that trusts a given CA (PEM), e.g. the server's self-signed certificate.
 * Node's built-in fetch cannot take a CA per request; node:https can. Bodies go out as strings or
 * bytes; responses come back as streams (attachments are not held whole).
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { Readable } from 'node:stream';

export interface HttpsFetchOptions {
  /**
   * Give up on a connection silent this long, waiting for the answer or in the middle of it
   * (default 120 s): a server that never answers must not hold a command for ever.
   */
  idleSeconds?: number;
}

export function httpsFetch(ca?: string, opts: HttpsFetchOptions = {}): typeof fetch {
  const idle = opts.idleSeconds ?? 120;
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const body = init?.body;
      let answer: IncomingMessage | undefined;
      const req = request(url, { method: init?.method ?? 'GET', headers, ...(ca ? { ca } : {}) }, (res) => {
        answer = res;
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        const status = res.statusCode ?? 500;
        const noBody = status === 204 || status === 304 || init?.method === 'HEAD';
        if (noBody) res.resume();
        resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: h }));
      });
      // Socket inactivity, both before the answer and while its body streams: the request is
      // destroyed, which fails the pending fetch or errors the body stream the caller reads.
      req.setTimeout(idle * 1000, () => {
        const silent = new Error(`no answer from the server for ${idle} s`);
        answer?.destroy(silent);
        req.destroy(silent);
      });
      req.on('error', reject);
      if (typeof body === 'string' || body instanceof Uint8Array) req.write(body);
      else if (body !== undefined && body !== null) return reject(new TypeError('httpsFetch: only string and byte bodies are supported'));
      req.end();
    });
}
