/**
 * Account security from the command line: `sessions` (list, revoke one or all others),
 * `password` (change), `totp enrol|remove|codes` (second factor and recovery codes).
 */
import QRCode from 'qrcode';
import type { ApiClient } from '@sealmail/client';
import { CommandError } from './mail-commands';

export interface AccountContext {
  api: ApiClient;
  out: (line: string) => void;
  /** Writes the QR code as drawn (its colour sequences kept); `out` makes control characters harmless. */
  qr?: (text: string) => void;
  readLine: () => Promise<string>;
}

const when = (iso: string) => iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');

/** `sealmail sessions [revoke <id>|--all-others]` */
export async function sessionsCommand(ctx: AccountContext, args: string[], allOthers: boolean): Promise<void> {
  if (args[0] === 'revoke' || allOthers) {
    if (allOthers) {
      if (args.length > 1) throw new CommandError('give a session id or --all-others, not both', 'usage');
      const { revoked } = await ctx.api.revokeOtherSessions();
      ctx.out(`signed out ${revoked} other session${revoked === 1 ? '' : 's'}; this one stays signed in`);
      return;
    }
    const prefix = args[1];
    if (!prefix || args.length !== 2) throw new CommandError('name one session (its id or first characters), or use --all-others', 'usage');
    const { sessions } = await ctx.api.sessions();
    const matches = sessions.filter((s) => s.id.startsWith(prefix.toLowerCase()));
    if (matches.length !== 1) throw new CommandError(matches.length ? `"${prefix}" matches ${matches.length} sessions; give more characters` : `no session of yours starts with "${prefix}" (see: sealmail sessions)`, 'failure');
    await ctx.api.revokeSession(matches[0]!.id);
    ctx.out(matches[0]!.current ? 'signed out this session' : `signed out session ${matches[0]!.id.slice(0, 8)}`);
    return;
  }
  if (args.length) throw new CommandError('usage: sealmail sessions [revoke <id> | --all-others]', 'usage');
  const { sessions } = await ctx.api.sessions();
  ctx.out('ID        DEVICE                    ADDRESS          SIGNED IN          LAST USE           CLIENT');
  for (const s of sessions) {
    const device = s.deviceName ? `${s.deviceName}${s.deviceStatus && s.deviceStatus !== 'approved' ? ` (${s.deviceStatus})` : ''}` : '(no device)';
    ctx.out(
      `${s.id.slice(0, 8)}${s.current ? '*' : ' '} ${device.slice(0, 25).padEnd(25)} ${(s.ip ?? '?').padEnd(16)} ${when(s.createdAt).padEnd(18)} ${when(s.lastSeenAt).padEnd(18)} ${(s.userAgent ?? '?').slice(0, 60)}`,
    );
  }
  ctx.out('* this session');
}

/** `sealmail password`: current password, then the new one twice, on standard input. */
export async function passwordCommand(ctx: AccountContext): Promise<void> {
  const current = await ctx.readLine();
  const next = await ctx.readLine();
  const again = await ctx.readLine();
  if (!current || !next) throw new CommandError('give the current password, then the new one twice, each on its own line of standard input', 'usage');
  if (next !== again) throw new CommandError('the two new passwords differ; nothing was changed', 'usage');
  const { sessionsEnded } = await ctx.api.changePassword(current, next);
  ctx.out(`password changed; ${sessionsEnded} other session${sessionsEnded === 1 ? '' : 's'} signed out`);
}

/** `sealmail totp enrol|remove|codes` */
export async function totpCommand(ctx: AccountContext, args: string[], code: string | undefined): Promise<void> {
  const sub = args[0];
  if (sub === 'enrol' || sub === 'enroll') {
    const { secret, otpauthUrl } = await ctx.api.totpEnroll();
    ctx.out('Scan this code with your authenticator app, or type the secret into it:');
    (ctx.qr ?? ctx.out)(await QRCode.toString(otpauthUrl, { type: 'terminal', small: true }));
    ctx.out(`secret  ${secret.match(/.{1,4}/g)!.join(' ')}`);
    ctx.out(`uri     ${otpauthUrl}`);
    ctx.out('Then give the 6-digit code the app shows (standard input, or --code):');
    const given = (code ?? (await ctx.readLine())).trim();
    if (!/^\d{6}$/.test(given)) throw new CommandError('expected the 6-digit code from the app; nothing was enrolled (run it again)', 'usage');
    const { recoveryCodes } = await ctx.api.totpConfirm(given);
    ctx.out('authenticator app set up. RECOVERY CODES (each works once in place of a code; keep them safe):');
    for (const c of recoveryCodes) ctx.out(`  ${c}`);
    return;
  }
  if (sub === 'remove') {
    const proof = code ? { code } : { password: await ctx.readLine() };
    if (!proof.code && !proof.password) throw new CommandError('give --code <6 digits> or the password on standard input', 'usage');
    await ctx.api.totpRemove(proof);
    ctx.out('authenticator app removed; sign-in needs only the password now');
    return;
  }
  if (sub === 'codes') {
    if (!code) throw new CommandError('give --code <6 digits> from the app to make new recovery codes', 'usage');
    const { recoveryCodes } = await ctx.api.totpRecoveryCodes(code);
    ctx.out('new RECOVERY CODES (the old ones no longer work):');
    for (const c of recoveryCodes) ctx.out(`  ${c}`);
    return;
  }
  throw new CommandError('usage: sealmail totp enrol | totp remove [--code N] | totp codes --code N', 'usage');
}
