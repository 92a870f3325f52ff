/**
 * Test helper (not a test): builds the real API on an existing test database (the first argument)
 * in this child process and injects the requests of the second (JSON) one after the other,
 * printing each answer as a JSON line. The parent test kills it when it does not answer in time,
 * so a request that blocks the event loop fails that test instead of hanging the test run.
 */
import { createDb } from '@sealmail/db';
import { createLogger, defaultAuthSettings, tableResolver } from '@sealmail/server';
import { ephemeralServerMailKey, MailEvents } from '@sealmail/mailstore';
import { buildApp } from '../../src/app';

const db = createDb(process.argv[2]!, { maxConnections: 4 });
const app = await buildApp({
  serverKey: ephemeralServerMailKey(),
  events: new MailEvents(),
  logger: createLogger({ level: 'silent' }),
  db,
  version: '1.2.3',
  auth: defaultAuthSettings,
  resolver: tableResolver(() => ({})),
  mailHosts: { smtp: 'mx.example.test', public: 'mail.example.test' },
});
const requests = JSON.parse(process.argv[3]!) as { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; token: string; payload?: object }[];
for (const r of requests) {
  const res = await app.inject({ method: r.method, url: r.url, headers: { authorization: `Bearer ${r.token}` }, ...(r.payload ? { payload: r.payload } : {}) });
  process.stdout.write(`${JSON.stringify({ url: r.url, status: res.statusCode, body: res.body.slice(0, 300) })}\n`);
}
await app.close();
await db.$disconnect();
process.exit(0);
