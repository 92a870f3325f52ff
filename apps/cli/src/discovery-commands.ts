/**
 * `sealmail discovery export --user U --from DATE --to DATE [--terms a,b] --case REF --out DIR`:
 * an escrow admin's eDiscovery export (docs/admin.md "Escrow & discovery"). The user's mail in the
 * range is fetched as ciphertext under the case reference (recorded by the server), opened on
 * this device with the escrow key, filtered by the terms here, and written as DIR/messages.mbox
 * and DIR/manifest.json (message ids, dates, SHA-256 of each message and of the mbox).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient } from '@sealmail/client';
import { EscrowAdmin, exportDiscovery, type Identity } from '@sealmail/client/identity';
import { CommandError } from './mail-commands';

export interface DiscoveryContext {
  api: ApiClient;
  identity: Identity;
  address: string;
  out: (line: string) => void;
}

export interface DiscoveryOptions {
  user?: string;
  from?: string;
  to?: string;
  terms?: string;
  case?: string;
  out?: string;
}

/** A date (YYYY-MM-DD, midnight UTC) or a full ISO date-time. */
function dateOf(value: string | undefined, name: string): Date {
  const d = value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : value ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) throw new CommandError(`--${name} needs a date (YYYY-MM-DD or an ISO date-time)`, 'usage');
  return d;
}

export async function discoveryCommand(ctx: DiscoveryContext, args: string[], o: DiscoveryOptions, now: () => Date = () => new Date()): Promise<void> {
  if (args[0] !== 'export' || args.length !== 1) throw new CommandError('usage: sealmail discovery export --user ADDRESS --from DATE --to DATE [--terms a,b] --case REF --out DIR', 'usage');
  if (!o.user) throw new CommandError('name the user whose mail to export (--user)', 'usage');
  if (!o.case?.trim()) throw new CommandError('state the case reference (--case): it is recorded with the opening and shown to the user', 'usage');
  if (!o.out) throw new CommandError('name the folder to write into (--out)', 'usage');
  const from = dateOf(o.from, 'from');
  const to = dateOf(o.to, 'to');
  if (!(from < to)) throw new CommandError('--to must come after --from', 'usage');
  // Never replace an earlier export (checked before anything is opened, and again on writing).
  if (existsSync(join(o.out, 'messages.mbox')) || existsSync(join(o.out, 'manifest.json'))) throw new CommandError(`${o.out} holds an export already; name another folder`, 'failure');
  const terms = (o.terms ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const { mbox, manifest } = await exportDiscovery(ctx.api, new EscrowAdmin(ctx.api, ctx.identity), { adminAddress: ctx.address, userAddress: o.user.trim().toLowerCase(), from, to, terms, caseRef: o.case.trim() }, now);
  await mkdir(o.out, { recursive: true });
  try {
    await writeFile(join(o.out, manifest.mbox.file), mbox, { flag: 'wx', mode: 0o600 });
    await writeFile(join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CommandError(`${o.out} holds an export already; name another folder`, 'failure');
    throw err;
  }
  ctx.out(`exported ${manifest.messages.length} of ${manifest.scanned} message(s) in the range for case "${manifest.caseRef}" to ${o.out}`);
  ctx.out(`  messages.mbox  sha256 ${manifest.mbox.sha256}`);
  if (manifest.unopened.length) ctx.out(`  ${manifest.unopened.length} message(s) in the range could not be opened with escrow (listed in manifest.json)`);
}
