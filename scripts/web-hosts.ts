/**
 * The "web" process: serves the built web client, admin console and link viewer, each on its own
 * HTTPS origin, each forwarding /api to the API (the web client's also /.well-known/mta-sts.txt).
 * Run after `vite build` of the three apps.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bootProcess, buildWebHost, SESSION_COOKIES, strictCsp } from '@sealmail/server';

const { config, logger, tls } = await bootProcess('web');
// The API presents the same certificate when it is self-signed; an operator's CA-signed one
// needs no extra trust.
const apiCa = config.tls.selfSigned ? await readFile(config.tls.certFile, 'utf8') : undefined;
const dist = (app: string) => fileURLToPath(new URL(`../apps/${app}/dist`, import.meta.url));

// Each host passes on only its own app's session cookie; the link viewer's host none at all, and
// it forwards only the public link routes.
const hosts = [
  { app: 'web', port: config.ports.web, sessionCookie: SESSION_COOKIES.web, apiPrefix: '/api', mtaStsPolicy: true },
  { app: 'admin', port: config.ports.admin, sessionCookie: SESSION_COOKIES.admin, apiPrefix: '/api', mtaStsPolicy: false },
  { app: 'viewer', port: config.ports.viewer, sessionCookie: null, apiPrefix: '/api/v1/links', mtaStsPolicy: false },
] as const;

const servers: Awaited<ReturnType<typeof buildWebHost>>[] = [];
for (const h of hosts) {
  const server = await buildWebHost({
    root: dist(h.app),
    csp: strictCsp(),
    apiUrl: config.apiUrl,
    apiPrefix: h.apiPrefix,
    sessionCookie: h.sessionCookie,
    // The web client's host also serves each verified domain's MTA-STS policy (mta-sts.<domain>).
    mtaStsPolicy: h.mtaStsPolicy,
    ...(apiCa ? { apiCa } : {}),
    tls,
    logger: logger.child({ app: h.app }),
    trustedProxies: config.webTrustedProxies,
  });
  await server.listen({ host: config.bindHost, port: h.port });
  servers.push(server);
}

let closing = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (closing) return;
    closing = true;
    void Promise.allSettled(servers.map((s) => s.close())).finally(() => process.exit(0));
  });
}
