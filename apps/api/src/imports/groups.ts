/**
 * Google Groups → mailing lists (docs/admin.md "Import"). Accepted CSV layouts, recognised by
 * their column names (csv-parse does the CSV):
 *  - a group's "Export members" in Google Groups: `Email address, Nickname, Group status,
 *    Email status, Join year, …` (one group per file; older exports put a line naming the group
 *    above the header, which is read for the group's address);
 *  - the Admin console's member lists and bulk-upload files: `Group Email [Required],
 *    Member Email, Member Type, Member Role[, Member Status]` (many groups per file).
 * Members who are invited, banned or suspended are not added. A list is made on the group's
 * address when absent (the address must be on one of the organisation's domains, or `listAddress`
 * names one); members already on a list are not added again.
 */
import { parse } from 'csv-parse/sync';
import { address as addressSchema, ApiError, MAX_LIST_MEMBERS } from '@sealmail/contract';
import { splitAddress, type Db } from '@sealmail/db';

export interface GroupRow {
  row: number;
  group: string | null;
  member: string;
}

export interface ParsedGroups {
  members: GroupRow[];
  /** The group named above the header (older exports). */
  preambleGroup: string | null;
  skipped: { row: number; reason: string }[];
}

const norm = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');
const MEMBER_COLUMNS = ['email address', 'member email', 'member email address', 'email', 'e-mail address', 'e-mail'];
const GROUP_COLUMNS = ['group email [required]', 'group email', 'group email address', 'group address'];
const STATUS_COLUMNS = ['group status', 'member status', 'status'];
const REFUSED_STATUS = new Set(['invited', 'banned', 'suspended', 'pending', 'archived', 'bouncing']);
const ADDRESS_IN_TEXT = /[^\s<>"'(),;:@]+@[a-z0-9.-]+\.[a-z]{2,}/i;

const validAddress = (s: string): string | null => {
  const r = addressSchema.safeParse(s);
  return r.success ? r.data : null;
};

/** Reads a Groups CSV into (group, member) rows; throws VALIDATION_FAILED naming what is missing. */
export function parseGroupsCsv(csv: string): ParsedGroups {
  let rows: string[][];
  try {
    rows = parse(csv, { bom: true, relax_column_count: true, skip_empty_lines: true, relax_quotes: true, trim: true }) as string[][];
  } catch (err) {
    throw new ApiError('VALIDATION_FAILED', 'body.csv', `body.csv: not readable as CSV (${(err as Error).message.split('\n')[0]}).`);
  }
  const headerAt = rows.findIndex((r) => r.some((c) => MEMBER_COLUMNS.includes(norm(c))));
  if (headerAt < 0) throw new ApiError('VALIDATION_FAILED', 'body.csv', 'body.csv: no member address column found (expected "Email address" or "Member Email" in the header row).');
  const header = rows[headerAt]!.map(norm);
  const memberCol = header.findIndex((c) => MEMBER_COLUMNS.includes(c));
  const groupCol = header.findIndex((c) => GROUP_COLUMNS.includes(c));
  const statusCol = header.findIndex((c) => STATUS_COLUMNS.includes(c));
  const preamble = rows.slice(0, headerAt).flat().join(' ');
  const preambleGroup = preamble.match(ADDRESS_IN_TEXT)?.[0]?.toLowerCase() ?? null;
  const members: GroupRow[] = [];
  const skipped: ParsedGroups['skipped'] = [];
  for (let i = headerAt + 1; i < rows.length; i++) {
    const r = rows[i]!;
    const row = i + 1;
    const raw = r[memberCol] ?? '';
    if (!raw) {
      skipped.push({ row, reason: 'no member address' });
      continue;
    }
    const member = validAddress(raw);
    if (!member) {
      skipped.push({ row, reason: `not an e-mail address: ${raw.slice(0, 100)}` });
      continue;
    }
    const status = statusCol >= 0 ? norm(r[statusCol] ?? '') : '';
    if (REFUSED_STATUS.has(status)) {
      skipped.push({ row, reason: `${member} is ${status}, not a member` });
      continue;
    }
    const groupRaw = groupCol >= 0 ? (r[groupCol] ?? '') : '';
    const group = groupRaw ? validAddress(groupRaw) : null;
    if (groupRaw && !group) {
      skipped.push({ row, reason: `not a group address: ${groupRaw.slice(0, 100)}` });
      continue;
    }
    members.push({ row, group, member });
  }
  return { members, preambleGroup, skipped };
}

export interface GroupsResult {
  lists: { address: string; created: boolean; added: number; alreadyMembers: number }[];
  skipped: { row: number; reason: string }[];
}

/** Adds the CSV's members to the organisation's lists, making lists that do not exist yet. */
export async function importGroups(db: Db, accountId: string, input: { csv: string; listAddress?: string | undefined; listName?: string | undefined }): Promise<GroupsResult> {
  const parsed = parseGroupsCsv(input.csv);
  const byGroup = new Map<string, GroupRow[]>();
  const skipped = [...parsed.skipped];
  const groupsNamed = new Set(parsed.members.map((m) => m.group).filter(Boolean));
  if (input.listAddress && groupsNamed.size > 1) throw new ApiError('VALIDATION_FAILED', 'body.listAddress', 'body.listAddress: the CSV names several groups; import it without a list address (each group becomes its own list).');
  for (const m of parsed.members) {
    const target = input.listAddress ?? m.group ?? parsed.preambleGroup;
    if (!target) throw new ApiError('VALIDATION_FAILED', 'body.listAddress', 'body.listAddress: the CSV does not say which group it is; give the list address to import into.');
    byGroup.set(target, [...(byGroup.get(target) ?? []), m]);
  }

  // Check every target first: nothing is changed when one cannot be a list here.
  const targets: { address: string; domainId: string; localPart: string; listId: string | null }[] = [];
  for (const address of byGroup.keys()) {
    const parts = splitAddress(address);
    const domain = parts ? await db.domain.findUnique({ where: { name: parts.domain } }) : null;
    if (!parts || !domain || domain.accountId !== accountId) throw new ApiError('VALIDATION_FAILED', 'body.listAddress', `body.listAddress: ${address} is not on a domain of your organisation; give the list address to import into.`);
    const list = await db.mailingList.findUnique({ where: { domainId_localPart: { domainId: domain.id, localPart: parts.localPart } }, select: { id: true } });
    if (!list && (await db.user.findUnique({ where: { domainId_localPart: { domainId: domain.id, localPart: parts.localPart } }, select: { id: true } }))) throw new ApiError('ADDRESS_TAKEN', 'body.listAddress', `${address} belongs to a user.`);
    targets.push({ address, domainId: domain.id, localPart: parts.localPart, listId: list?.id ?? null });
  }

  const lists: GroupsResult['lists'] = [];
  for (const t of targets) {
    let created = false;
    let listId = t.listId;
    if (!listId) {
      const name = input.listName ?? t.localPart;
      const made = await db.mailingList
        .create({ data: { accountId, domainId: t.domainId, localPart: t.localPart, name } })
        .catch(async (err: { code?: string }) => {
          // Made meanwhile by someone else: use it.
          if (err.code === 'P2002') return db.mailingList.findUniqueOrThrow({ where: { domainId_localPart: { domainId: t.domainId, localPart: t.localPart } } });
          throw err;
        });
      listId = made.id;
      created = true;
    }
    const wanted = [...new Set(byGroup.get(t.address)!.map((m) => m.member))];
    const existing = new Set((await db.mailingListMember.findMany({ where: { listId }, select: { address: true } })).map((m) => m.address));
    const fresh = wanted.filter((a) => !existing.has(a));
    const room = Math.max(0, MAX_LIST_MEMBERS - existing.size);
    const toAdd = fresh.slice(0, room);
    for (const a of fresh.slice(room)) skipped.push({ row: byGroup.get(t.address)!.find((m) => m.member === a)!.row, reason: `${t.address} has ${MAX_LIST_MEMBERS} members, the most a list may have` });
    const added = toAdd.length ? (await db.mailingListMember.createMany({ data: toAdd.map((address) => ({ listId: listId!, address })), skipDuplicates: true })).count : 0;
    lists.push({ address: t.address, created, added, alreadyMembers: wanted.length - fresh.length });
  }
  return { lists, skipped: skipped.sort((a, b) => a.row - b.row).slice(0, 500) };
}
