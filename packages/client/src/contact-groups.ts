/**
 * Personal distribution lists (docs/mail.md "Contacts"): a contact group used as a recipient is
 * expanded here, on the device, into its members' addresses before anything is sealed, so the
 * server never sees the group. No dependencies: the web client's compose window loads it alone.
 */

/** What expansion needs of a contact. */
export interface GroupMember {
  name: string;
  emails: readonly { value: string }[];
  groups: readonly string[];
}

export class RecipientError extends Error {
  override readonly name = 'RecipientError';
  constructor(
    readonly code: 'UNKNOWN_GROUP' | 'EMPTY_GROUP',
    /** The group name or word the user typed. */
    readonly entry: string,
    message: string,
  ) {
    super(message);
  }
}

/** The groups of an address book and their members' addresses (each member's first address). */
export function groupsOf(contacts: readonly GroupMember[]): Map<string, { name: string; addresses: string[] }> {
  const groups = new Map<string, { name: string; addresses: string[] }>();
  for (const c of contacts) {
    const first = c.emails[0]?.value;
    for (const g of c.groups) {
      const key = g.toLowerCase();
      const entry = groups.get(key) ?? { name: g, addresses: [] };
      if (first && !entry.addresses.includes(first)) entry.addresses.push(first);
      groups.set(key, entry);
    }
  }
  return groups;
}

/**
 * Splits what the user typed into recipients: commas and semicolons separate; within a part that
 * holds an address, spaces separate too ("a@x b@y"), so a group's name may have spaces.
 */
export function splitRecipients(text: string): string[] {
  return text
    .split(/[,;\n]+/)
    .flatMap((part) => (part.includes('@') && !/<[^<>]+>/.test(part) ? part.split(/\s+/) : [part]))
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Turns recipients into addresses: an address stays; a group name (a personal distribution list)
 * becomes its members' addresses; "Name <address>" becomes the address.
 * @throws RecipientError UNKNOWN_GROUP for a word that is neither an address nor a group;
 *   EMPTY_GROUP for a group none of whose members has an address.
 */
export function expandRecipients(entries: readonly string[], contacts: readonly GroupMember[]): string[] {
  const groups = groupsOf(contacts);
  const out: string[] = [];
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    const angle = /<([^<>]+@[^<>]+)>\s*$/.exec(e)?.[1];
    if (angle || e.includes('@')) {
      out.push((angle ?? e).trim().toLowerCase());
      continue;
    }
    const g = groups.get(e.toLowerCase());
    if (!g) throw new RecipientError('UNKNOWN_GROUP', e, `“${e}” is neither an e-mail address nor one of your contact groups.`);
    if (!g.addresses.length) throw new RecipientError('EMPTY_GROUP', g.name, `Your group “${g.name}” has no member with an e-mail address.`);
    out.push(...g.addresses);
  }
  return [...new Set(out)];
}
