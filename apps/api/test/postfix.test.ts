/**
 * Delivery to a mail server as the outside world runs them: a real Postfix (Debian's package) on
 * loopback with the self-signed certificate a stock install shows. Without an MTA-STS policy the
 * relay uses STARTTLS opportunistically (RFC 3207, RFC 7435): it encrypts, does not insist on a
 * certificate it can verify, and the mail arrives — DKIM-signed, with the relay's Received field.
 * DNS is outside this machine: the MX answer comes from the test ("postfix.test" → 127.0.0.1,
 * which the relay only reaches because this test allows private targets).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import { Mailer } from '@sealmail/client/identity';
import { harness, until, type Harness } from './helpers';
import { startPostfix, type Postfix } from './postfix';

let dir: string;
let pf: Postfix;
let h: Harness;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-postfix-'));
  pf = await startPostfix(dir, 'postfix.test');
  h = await harness({}, {
    outbound: {
      port: pf.port,
      resolveMx: async (domain) => (domain === 'postfix.test' ? [{ exchange: '127.0.0.1', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
      allowPrivateTargets: true,
      sweepSeconds: 0.2,
    },
  });
}, 120_000);

afterAll(async () => {
  await h?.close();
  await pf?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('standard mail to a stock Postfix', () => {
  it('arrives over opportunistic STARTTLS despite the self-signed certificate, DKIM-signed, with a Received field', async () => {
    const alice = await h.deviceSignIn('alice@example.test');
    const mailer = new Mailer(alice.api, alice.identity, 'alice@example.test');
    const file = Buffer.from('minutes of the meeting\n'.repeat(500));
    const sent = await mailer.send({
      to: ['carol@postfix.test'],
      subject: 'Minutes for Postfix',
      text: 'Hello Carol',
      attachments: [{ name: 'minutes.txt', type: 'text/plain', size: file.length, stream: () => new Blob([file]).stream() }],
      allowStandard: true,
    });
    const [raw] = await until(async () => {
      const got = await pf.delivered();
      return got.length > 0 && got;
    }, 90_000);
    const parsed = await simpleParser(raw!);
    expect(parsed.subject).toBe('Minutes for Postfix');
    expect(parsed.text).toContain('Hello Carol');
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(file)])).toEqual([['minutes.txt', true]]);
    // Postfix's own Received field says the session was encrypted; ours names the relay.
    const received = parsed.headers.get('received') as string[] | string;
    const fields = Array.isArray(received) ? received : [received];
    expect(fields[0]).toMatch(/by mx\.postfix\.test \(Postfix\)/);
    expect(fields[0]).toMatch(/\(using TLSv1\.[23] with cipher /);
    expect(fields.some((f) => /^by mx\.example\.test \(Sealmail\) with ESMTP id [0-9a-f]+ for <carol@postfix\.test>;/.test(f))).toBe(true);
    // The DKIM signature verifies against the key the admin console publishes for the domain.
    const key = await h.db.prisma.dkimKey.findFirstOrThrow({ where: { domain: { name: 'example.test' }, state: 'active' } });
    const auth = await authenticate(raw!, {
      ip: '127.0.0.1',
      helo: 'mx.example.test',
      sender: 'alice@example.test',
      mta: 'mx.postfix.test',
      resolver: async (name: string, type: string) =>
        type === 'TXT' && name === `${key.selector}._domainkey.example.test` ? [[`v=DKIM1; k=rsa; p=${key.publicKey}`]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })),
    });
    expect(auth.dkim.results[0]?.status.result).toBe('pass');
    const delivery = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((d) => d.status === 'delivered'));
    expect(delivery.recipient).toBe('carol@postfix.test');
    expect(await pf.log()).toMatch(/status=sent \(delivered to maildir\)/);
  }, 180_000);
});
