/**
 * The references the mail bench measures beside the API, in their own process over HTTPS with the
 * same certificate: a Fastify hello-world route, and a route doing one primary-key read through
 * the same Prisma client and driver adapter the API uses (the "primary-key read" that the session
 * lookup must not be slower than). Started by bench/mail.bench.ts; prints its port.
 *
 *   tsx bench/reference-server.ts <settings.json>   ({ cert, key, databaseUrl, userId })
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { createDb } from '@sealmail/db';
import { tlsServerOptions } from '@sealmail/server';

const settings = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { cert: string; key: string; databaseUrl: string; userId: string };
const db = createDb(settings.databaseUrl, { maxConnections: 10 });
// The API's own TLS policy, so the references pay what the API pays per connection.
const app = Fastify({ https: tlsServerOptions({ cert: settings.cert, key: settings.key }) });
app.get('/hello', async () => ({ hello: 'world' }));
app.get('/pk', async () => ({ user: (await db.user.findUniqueOrThrow({ where: { id: settings.userId }, select: { id: true } })).id }));
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`port ${(app.server.address() as { port: number }).port}`);
