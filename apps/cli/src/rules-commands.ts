/**
 * Out-of-office and send addresses from the command line (docs/mail.md §10):
 * `sealmail out-of-office [on|off] [--from DATE] [--to DATE] [--subject S]` (the reply text on
 * standard input; without `on`/`off` it shows the settings) and `sealmail addresses` (what you may
 * send from: your own address and your aliases).
 */
import type { ApiClient } from '@sealmail/client';
import { outOfOfficeGet, outOfOfficePut, sendAddresses } from '@sealmail/contract';
import { CommandError } from './mail-commands';

export interface RulesContext {
  api: ApiClient;
  out: (line: string) => void;
  readRest: () => Promise<string>;
}

const instant = (v: string | undefined, what: string): string | null => {
  if (v === undefined) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new CommandError(`--${what}: expected a date such as 2026-12-24 or 2026-12-24T09:00Z`, 'usage');
  return d.toISOString();
};

/** `sealmail out-of-office [on|off]` */
export async function outOfOfficeCommand(ctx: RulesContext, args: string[], opts: { from?: string; to?: string; subject?: string }): Promise<void> {
  const sub = args[0];
  if (sub === undefined) {
    const o = await ctx.api.call(outOfOfficeGet);
    ctx.out(`${o.enabled ? 'on' : 'off'}${o.startsAt ? ` from ${o.startsAt}` : ''}${o.endsAt ? ` until ${o.endsAt}` : ''}`);
    ctx.out(`Subject: ${o.subject}`);
    ctx.out('');
    ctx.out(o.text);
    if (o.outsideText !== null) ctx.out(`\n(to outside senders)\n${o.outsideText}`);
    return;
  }
  if ((sub !== 'on' && sub !== 'off') || args.length > 1) throw new CommandError('usage: sealmail out-of-office [on|off] [--from DATE] [--to DATE] [--subject S]  (the reply on standard input)', 'usage');
  const current = await ctx.api.call(outOfOfficeGet);
  const text = sub === 'on' ? (await ctx.readRest()).trim() || current.text : current.text;
  const saved = await ctx.api.call(outOfOfficePut, {
    enabled: sub === 'on',
    startsAt: opts.from !== undefined ? instant(opts.from, 'from') : current.startsAt,
    endsAt: opts.to !== undefined ? instant(opts.to, 'to') : current.endsAt,
    subject: opts.subject ?? (current.subject || 'Out of office'),
    text,
    outsideText: current.outsideText,
  });
  ctx.out(saved.enabled ? `out-of-office on${saved.startsAt ? ` from ${saved.startsAt}` : ''}${saved.endsAt ? ` until ${saved.endsAt}` : ''}: each sender gets one reply` : 'out-of-office off');
}

/** `sealmail addresses` */
export async function addressesCommand(ctx: RulesContext): Promise<void> {
  const { primary, aliases } = await ctx.api.call(sendAddresses);
  ctx.out(`${primary}\t(your address)`);
  for (const a of aliases) ctx.out(`${a}\t(alias)`);
}
