/**
 * `sealmail labels [create NAME | rename LABEL NAME | delete LABEL]`, `sealmail spam <id>`,
 * `sealmail not-spam <id>`, `sealmail senders [remove ADDRESS]` and `sealmail forward <id>`
 * (docs/mail.md "Organising mail"). Label names are sealed and opened on this device; the server sees ids. Report spam /
 * Not spam move the mail and record the sender for this user; `senders` lists those verdicts and
 * `senders remove` forgets one.
 */
import { Mailer, Organiser, type AttachmentSource } from '@sealmail/client/identity';
import { MailTransfer } from '@sealmail/client/transfer';
import { CommandError, resolveEntry, sendCommand, type MailContext } from './mail-commands';

const organiser = (ctx: MailContext) => new Organiser(ctx.api, ctx.identity, ctx.address);
const mailer = (ctx: MailContext) => new Mailer(ctx.api, ctx.identity, ctx.address);

/** A label by its id, the id's first characters, or its exact name. */
async function findLabel(ctx: MailContext, which: string) {
  const labels = await mailer(ctx).labels();
  const hits = labels.filter((l) => l.id === which.toLowerCase() || l.name === which || (which.length >= 4 && l.id.startsWith(which.toLowerCase())));
  if (hits.length !== 1) throw new CommandError(hits.length ? `"${which}" names more than one label; give more of its id` : `no label "${which}" (see \`sealmail labels\`)`, 'failure');
  return hits[0]!;
}

export async function labelsCommand(ctx: MailContext, args: string[]): Promise<void> {
  const [sub, a, b] = args;
  if (sub === undefined) {
    const labels = await mailer(ctx).labels();
    if (!labels.length) ctx.io.out('no labels yet (sealmail labels create NAME)');
    for (const l of labels) ctx.io.out(`${l.id.slice(0, 8)}  ${l.name}`);
  } else if (sub === 'create' && a && args.length === 2) {
    const l = await mailer(ctx).createLabel(a);
    ctx.io.out(`created label ${l.id.slice(0, 8)} ${l.name}`);
  } else if (sub === 'rename' && a && b && args.length === 3) {
    const l = await findLabel(ctx, a);
    await organiser(ctx).renameLabel(l.id, b);
    ctx.io.out(`renamed label ${l.id.slice(0, 8)} to ${b.trim()}`);
  } else if (sub === 'delete' && a && args.length === 2) {
    const l = await findLabel(ctx, a);
    await ctx.api.deleteLabel(l.id);
    ctx.io.out(`deleted label ${l.name}; it is off every mail`);
  } else throw new CommandError('usage: sealmail labels [create NAME | rename LABEL NAME | delete LABEL]', 'usage');
}

export async function spamCommand(ctx: MailContext, idOrPrefix: string, verdict: 'spam' | 'not-spam'): Promise<void> {
  const id = await resolveEntry(ctx, idOrPrefix);
  const senders = await organiser(ctx).reportSpam([id], verdict);
  ctx.io.out(`moved ${id.slice(0, 8)} to ${verdict === 'spam' ? 'spam' : 'inbox'}${senders.length ? `; later mail from ${senders.join(', ')} goes to ${verdict === 'spam' ? 'spam' : 'the inbox'}` : ''}`);
}

export async function sendersCommand(ctx: MailContext, args: string[]): Promise<void> {
  const [sub, a] = args;
  if (sub === undefined) {
    const verdicts = await organiser(ctx).senderVerdicts();
    if (!verdicts.length) ctx.io.out('no reported or allowed senders');
    for (const v of verdicts) ctx.io.out(`${v.verdict === 'spam' ? 'spam ' : 'allow'}  ${v.address}  (since ${v.createdAt.slice(0, 10)})`);
  } else if (sub === 'remove' && a && args.length === 2) {
    await organiser(ctx).forgetSenderVerdict(a.trim().toLowerCase());
    ctx.io.out(`removed ${a.trim().toLowerCase()}: its mail is checked like anyone's again`);
  } else throw new CommandError('usage: sealmail senders [remove ADDRESS]', 'usage');
}

const bytesSource = (name: string, type: string, bytes: Uint8Array): AttachmentSource => ({
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
});

/**
 * `sealmail forward <id> --to … [--attached]`: the original opened here (every piece
 * authenticated), then sent like `send` — quoted under a forwarded-message header with its
 * attachments attached again, or with `--attached` as one `message/rfc822` file (its EML, the
 * attachments inside). Either way sealed anew for the new recipients; the body is standard input.
 */
export async function forwardCommand(ctx: MailContext, idOrPrefix: string, v: Parameters<typeof sendCommand>[1] & { attached?: boolean }): Promise<boolean> {
  const id = await resolveEntry(ctx, idOrPrefix);
  const m = new Mailer(ctx.api, ctx.identity, ctx.address);
  const o = await m.open(id);
  const subject = v.subject ?? (/^fwd?:/i.test(o.mime.subject) ? o.mime.subject : `Fwd: ${o.mime.subject}`);
  if (v.attached) {
    const { eml } = await new MailTransfer(ctx.api, ctx.identity, m).emlOfEntry(o.entry);
    const name = `${o.mime.subject.replace(/[\\/:*?"<>|\p{Cc}]+/gu, '_').trim().slice(0, 80) || 'message'}.eml`;
    return sendCommand(ctx, { ...v, subject }, { attachments: [bytesSource(name, 'message/rfc822', eml)] });
  }
  const files = [];
  for (const a of o.attachments) files.push(bytesSource(a.filename, a.contentType, await m.attachmentBytes(o, a.piece)));
  const from = o.sender.name ? `${o.sender.name} <${o.sender.address}>` : o.sender.address;
  const quote = ['---------- Forwarded message ----------', `From: ${from}`, `Date: ${o.mime.date ?? o.entry.receivedAt}`, `Subject: ${o.mime.subject}`, `To: ${o.mime.to.join(', ')}`, '', o.mime.text].join('\n');
  return sendCommand(ctx, { ...v, subject }, { attachments: files, quote });
}
