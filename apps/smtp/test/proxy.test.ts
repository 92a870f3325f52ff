/**
 * Behind a load balancer (docs/operations.md "Several processes"): connections from a listed
 * balancer start with a PROXY protocol v1 header naming the real client, and SPF is checked
 * against that client, not the balancer; a connection from anywhere else cannot claim another
 * address with such a header. DNS answers come from a table (outside this machine); the client
 * address 203.0.113.7 is a documentation address that only ever appears in the header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMime } from '@sealmail/client/identity';
import { openMail } from '@sealmail/crypto';
import { Dialog } from './dialog';
import { ingress, type Ingress } from './harness';

let h: Ingress;
let behindBalancer = 0;
let elsewhere = 0;

const dns: Record<string, string[][]> = { 'TXT far.example': [['v=spf1 ip4:203.0.113.7 -all']] };
async function resolver(name: string, type: string): Promise<string[][]> {
  const hit = dns[`${type} ${name.toLowerCase()}`];
  if (hit) return hit;
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}

/** One message from far.example to Bob; answers the reply to the final dot. */
async function send(d: Dialog, subject: string) {
  await d.cmd('EHLO mta.far.example');
  await d.cmd('MAIL FROM:<news@far.example>');
  await d.cmd('RCPT TO:<bob@example.test>');
  await d.cmd('DATA');
  d.write(`From: news@far.example\r\nTo: bob@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@far.example>\r\n\r\nHello.\r\n`);
  return d.cmd('.');
}

async function authResultsOf(subject: string): Promise<string> {
  for (const entry of await h.tdb.prisma.mailboxEntry.findMany({ where: { userId: h.bob.id }, include: { message: true } })) {
    const m = entry.message;
    const opened = await openMail({ envelope: m.envelope, record: entry.box, manifest: m.manifest, pieces: [m.body], userId: h.bob.id, puk: h.bob.puk });
    const mime = await parseMime(opened.pieces[0]!);
    if (mime.subject === subject) return mime.authenticationResults.join('\n');
  }
  throw new Error(`no mail "${subject}"`);
}

beforeAll(async () => {
  h = await ingress('proxy');
  behindBalancer = await h.listen({ resolver, proxyFrom: ['127.0.0.1'] });
  elsewhere = await h.listen({ resolver, proxyFrom: ['192.0.2.99'] });
}, 60_000);

afterAll(() => h?.close());

describe('PROXY protocol from listed load balancers', () => {
  it('SPF is checked against the client the balancer names', async () => {
    const d = await Dialog.open(behindBalancer);
    d.write('PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n');
    expect((await d.reply()).code).toBe(220);
    expect((await send(d, 'via-balancer')).code).toBe(250);
    d.close();
    const results = await authResultsOf('via-balancer');
    expect(results).toMatch(/spf=pass/);
    expect(results).toContain('203.0.113.7');
  });

  it('a connection from an address not listed cannot name another client', async () => {
    const d = await Dialog.open(elsewhere);
    expect((await d.reply()).code).toBe(220);
    // The header is just an unknown command here; the session goes on as 127.0.0.1.
    expect((await d.cmd('PROXY TCP4 203.0.113.7 127.0.0.1 40000 25')).code).toBeGreaterThanOrEqual(500);
    expect((await send(d, 'direct')).code).toBe(250);
    d.close();
    const results = await authResultsOf('direct');
    expect(results).not.toMatch(/spf=pass/);
    expect(results).not.toContain('203.0.113.7');
  });
});
