/**
 * Inline images and forwarding as an attached message (docs/mail.md "Inline images",
 * "Organising mail") through the real API and the real client package on a real Postgres: alice
 * sends bob HTML with an inline image (a cid: part, sealed as a piece like any attachment) and a
 * file; bob's device opens the image by its cid; bob forwards the whole mail as an EML
 * (message/rfc822) to alice, whose device opens the attached message with the image and file
 * byte-identical. Canary: neither the image, the file nor the forwarded message reaches the
 * server in plaintext — in no request and no table.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Mailer, type AttachmentSource } from '@sealmail/client/identity';
import { MailTransfer } from '@sealmail/client/transfer';
import { parseAttachedMessage } from '@sealmail/client/attached';
import { harness, injectFetch, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CANARY_IMAGE = `canary-inline-image-${randomBytes(4).toString('hex')}`;
const CANARY_FILE = `canary-forwarded-file-${randomBytes(4).toString('hex')}`;
const CANARY_TEXT = `canary-forwarded-text-${randomBytes(4).toString('hex')}`;
const CID = 'chart-1@sealmail.invalid';
const te = new TextEncoder();
// A PNG signature and then the canary: what an image's bytes look like to a server that could read them.
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...te.encode(CANARY_IMAGE), ...randomBytes(2000)]);
const file = new Uint8Array([...te.encode(CANARY_FILE), ...randomBytes(3000)]);

/** Every request the devices sent: URLs and bodies (uploads too), as latin1 text. */
const sent: string[] = [];

async function device(address: string) {
  const d = await h.deviceSignIn(address);
  const inject = injectFetch(h.app);
  const recording = (async (input: string | URL | Request, init?: RequestInit) => {
    if (init?.body !== undefined) sent.push(init.body instanceof Uint8Array ? Buffer.from(init.body).toString('latin1') : String(init.body));
    sent.push(String(input));
    return inject(input, init);
  }) as typeof fetch;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: recording, token: d.token });
  const mail = new Mailer(api, d.identity, address, address.split('@')[0]);
  return { mail, transfer: new MailTransfer(api, d.identity, mail) };
}

const source = (name: string, type: string, bytes: Uint8Array, contentId?: string): AttachmentSource => ({
  name,
  type,
  size: bytes.length,
  stream: () =>
    new ReadableStream({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    }),
  ...(contentId ? { contentId } : {}),
});

async function dumpHas(needles: string[]): Promise<string[]> {
  const tables = await h.db.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
  const hex = (s: string) => Buffer.from(s).toString('hex');
  const found: string[] = [];
  for (const { tablename } of tables) {
    const rows = await h.db.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`);
    const dump = rows.map((r) => r.t).join('\n');
    for (const n of needles) if (dump.includes(n) || dump.includes(hex(n))) found.push(`${n} in ${tablename}`);
  }
  return found;
}

let alice: Awaited<ReturnType<typeof device>>;
let bob: Awaited<ReturnType<typeof device>>;

beforeAll(async () => {
  h = await harness();
  alice = await device(ALICE);
  bob = await device(BOB);
}, 60_000);
afterAll(() => h?.close());

describe('inline images and forwarding as an attached message', () => {
  let bobEntry: string;

  it('an inline image goes as a cid: piece: bob’s device opens it by its cid with the same bytes', async () => {
    const r = await alice.mail.send({
      to: [BOB],
      subject: 'Quarterly chart',
      text: `See the chart. ${CANARY_TEXT}`,
      html: `<p>See the chart. ${CANARY_TEXT}</p><p><img src="cid:${CID}" alt="chart"></p>`,
      attachments: [source('figures.bin', 'application/octet-stream', file), source('chart.png', 'image/png', png, CID)],
    });
    bobEntry = (await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { messageId: r.messageId, user: { localPart: 'bob' } } })).id;
    const opened = await bob.mail.open(bobEntry);
    expect(opened.mime.html).toContain(`src="cid:${CID}"`);
    expect(opened.attachments).toEqual([
      { piece: 1, filename: 'figures.bin', contentType: 'application/octet-stream', size: file.length },
      { piece: 2, filename: 'chart.png', contentType: 'image/png', size: png.length, contentId: CID },
    ]);
    expect(await bob.mail.attachmentBytes(opened, 2)).toEqual(png);
  }, 60_000);

  it('bob forwards the whole mail as message/rfc822; alice’s device opens it with the image and the file intact', async () => {
    const opened = await bob.mail.open(bobEntry);
    const { eml } = await bob.transfer.emlOfEntry(opened.entry);
    const r = await bob.mail.send({ to: [ALICE], subject: 'Fwd: Quarterly chart', text: 'Forwarded as attachment.', attachments: [source('Quarterly chart.eml', 'message/rfc822', eml)] });
    const aliceEntry = (await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { messageId: r.messageId, user: { localPart: 'alice' } } })).id;
    const got = await alice.mail.open(aliceEntry);
    expect(got.attachments).toEqual([{ piece: 1, filename: 'Quarterly chart.eml', contentType: 'message/rfc822', size: eml.length }]);
    const inner = await parseAttachedMessage(await alice.mail.attachmentBytes(got, 1));
    expect(inner).toMatchObject({ subject: 'Quarterly chart', from: `alice <${ALICE}>`, to: [BOB] });
    expect(inner.text).toContain(CANARY_TEXT);
    expect(inner.html).toContain(`cid:${CID}`);
    const byName = Object.fromEntries(inner.attachments.map((a) => [a.filename, a]));
    expect(byName['figures.bin']!.bytes).toEqual(file);
    expect(byName['chart.png']).toMatchObject({ contentId: CID, inline: true });
    expect(byName['chart.png']!.bytes).toEqual(png);
  }, 60_000);

  it('canary: no image, file or forwarded text in plaintext in any request or table', async () => {
    expect(sent.length).toBeGreaterThan(10);
    for (const canary of [CANARY_IMAGE, CANARY_FILE, CANARY_TEXT]) expect(sent.filter((b) => b.includes(canary))).toEqual([]);
    expect(await dumpHas([CANARY_IMAGE, CANARY_FILE, CANARY_TEXT])).toEqual([]);
  }, 60_000);
});
