/**
 * Filters on content, run on the user's devices after decryption (docs/mail.md "Filters"): rules
 * like "subject contains 'invoice' → label Finance". The server can read neither the rules nor
 * the mail they look at: the rules are stored as one self box (kind `content-rules`) sealed to the
 * user's newest per-user key, and applied here when new mail arrives or on "apply to existing mail".
 * Metadata filters, which the server runs at delivery, are the contract's `filterReplace`.
 */
import { contentRulesGet, contentRulesPut, type FolderName } from '@sealmail/contract';
import { currentPuk, fromBase64Url, openSelfBox, sealSelfBox, toBase64Url } from '@sealmail/crypto';
import type { ApiClient } from '../api';
import type { Identity } from '../identity';
import type { OpenedMail } from './mailer';

export interface ContentRule {
  /** Where to look: the subject, the body text, or either. */
  field: 'subject' | 'body' | 'any';
  /** Matched case-insensitively, accents folded. */
  contains: string;
  /** What to do: add a label, star, mark read, move to a folder. */
  labelId?: string;
  star?: boolean;
  markRead?: boolean;
  folder?: Extract<FolderName, 'inbox' | 'archive' | 'trash' | 'spam'>;
}

const VERSION = 1;
const ITEM = 'content-rules';
const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();

/** Whether a rule matches an opened mail. */
export function ruleMatches(rule: ContentRule, mail: Pick<OpenedMail, 'mime'>): boolean {
  const needle = fold(rule.contains.trim());
  if (!needle) return false;
  const subject = rule.field !== 'body' && fold(mail.mime.subject).includes(needle);
  const body = rule.field !== 'subject' && fold(mail.mime.text).includes(needle);
  return subject || body;
}

/** What a list of rules does to one mail: the first folder wins; labels, star and read add up. */
export function contentOutcome(rules: readonly ContentRule[], mail: Pick<OpenedMail, 'mime'>): { labelIds: string[]; star: boolean; markRead: boolean; folder?: ContentRule['folder'] } | null {
  const hits = rules.filter((r) => ruleMatches(r, mail));
  if (!hits.length) return null;
  const folder = hits.find((r) => r.folder)?.folder;
  return { labelIds: [...new Set(hits.flatMap((r) => (r.labelId ? [r.labelId] : [])))], star: hits.some((r) => r.star), markRead: hits.some((r) => r.markRead), ...(folder ? { folder } : {}) };
}

/** The user's content rules, kept sealed on the server. */
export class ContentRules {
  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    private readonly address: string,
  ) {}

  /** The rules, opened on this device (none yet: an empty list). */
  async load(): Promise<ContentRule[]> {
    const { record } = await this.api.call(contentRulesGet);
    if (!record) return [];
    const me = await this.identity.thisDevice(this.address);
    const puks = await this.identity.perUserKeys(this.address);
    const plain = openSelfBox({ kind: 'content-rules', userId: me.userId, itemId: ITEM, record: fromBase64Url(record), puks });
    const parsed = JSON.parse(new TextDecoder().decode(plain)) as { v: number; rules: ContentRule[] };
    if (parsed.v !== VERSION || !Array.isArray(parsed.rules)) throw new Error('content rules of an unknown version');
    return parsed.rules;
  }

  /** Seals the rules to the user's newest per-user key and stores them. */
  async save(rules: readonly ContentRule[]): Promise<void> {
    const me = await this.identity.thisDevice(this.address);
    const newest = currentPuk(me.state).generation;
    const puk = (await this.identity.perUserKeys(this.address)).find((p) => p.generation === newest);
    if (!puk) throw new Error('This device does not hold your newest key yet: approve it from another device first.');
    const plaintext = new TextEncoder().encode(JSON.stringify({ v: VERSION, rules }));
    const record = sealSelfBox({ kind: 'content-rules', userId: me.userId, itemId: ITEM, puk, plaintext });
    plaintext.fill(0);
    await this.api.call(contentRulesPut, { record: toBase64Url(record) });
  }

  /**
   * Applies the rules to mail already opened on this device (new mail as it arrives, or a page of
   * existing mail for "apply to existing mail"); answers how many mails were changed.
   */
  async apply(mails: readonly OpenedMail[], rules?: readonly ContentRule[]): Promise<number> {
    const list = rules ?? (await this.load());
    let changed = 0;
    for (const m of mails) {
      const out = contentOutcome(list, m);
      if (!out) continue;
      const labels = [...new Set([...m.entry.labelIds, ...out.labelIds])];
      const patch = {
        ...(labels.length !== m.entry.labelIds.length ? { labelIds: labels } : {}),
        ...(out.star && !m.entry.starred ? { starred: true } : {}),
        ...(out.markRead && !m.entry.read ? { read: true } : {}),
        ...(out.folder && out.folder !== m.entry.folder ? { folder: out.folder } : {}),
      };
      if (!Object.keys(patch).length) continue;
      await this.api.updateMail(m.entryId, patch);
      changed++;
    }
    return changed;
  }
}
