/**
 * Compose helpers on the device (docs/mail.md "Compose"): signatures and templates sealed to the
 * user's own newest per-user key (self boxes of kind "signature" and "template", the way label
 * names are sealed), the Outbox's scheduled mails, and the undo-send delay. The server stores
 * and returns only the sealed boxes.
 */
import { currentPuk, fromBase64Url, openSelfBox, sealSelfBox, toBase64Url, type PerUserKey, type SelfBoxKind } from '@sealmail/crypto';
import {
  composeSettingsGet,
  composeSettingsUpdate,
  scheduledCancel,
  scheduledList,
  signatureDelete,
  signatureList,
  signaturePut,
  templateDelete,
  templateList,
  templatePut,
} from '@sealmail/contract';
import type { ApiClient } from '../api';
import type { Identity } from '../identity';
import { MailError } from './mailer';

export interface Signature {
  id: string;
  name: string;
  /** The signature as HTML (links and formatting) and as plain text. */
  html: string;
  text: string;
  /** The sending address it belongs to; null: any of the user's addresses. */
  address: string | null;
  isDefault: boolean;
}

export interface Template {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string;
}

/** An item whose box this device could not open (sealed to a key it does not hold). */
export interface Unreadable {
  id: string;
  unreadable: true;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class ComposeBook {
  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    readonly address: string,
  ) {}

  private async me() {
    const me = await this.identity.thisDevice(this.address);
    const puks = await this.identity.perUserKeys(this.address);
    const newest = currentPuk(me.state).generation;
    const puk = puks.find((p) => p.generation === newest);
    if (!puk) throw new MailError('OPEN_FAILED', 'This device does not hold your newest key yet: approve it from another device first.');
    return { userId: me.userId, puk, puks };
  }

  private seal(kind: SelfBoxKind, userId: string, puk: PerUserKey, itemId: string, value: unknown): string {
    return toBase64Url(sealSelfBox({ kind, userId, itemId, puk, plaintext: utf8.encode(JSON.stringify(value)) }));
  }

  private open<T>(kind: SelfBoxKind, userId: string, puks: readonly PerUserKey[], itemId: string, sealed: string): T | null {
    try {
      return JSON.parse(fromUtf8.decode(openSelfBox({ kind, userId, itemId, record: fromBase64Url(sealed), puks }))) as T;
    } catch {
      return null;
    }
  }

  async signatures(): Promise<(Signature | Unreadable)[]> {
    const { userId, puks } = await this.me();
    const { signatures } = await this.api.request(signatureList, {});
    return signatures.map((s) => {
      const v = this.open<{ name: string; html: string; text: string }>('signature', userId, puks, s.id, s.sealed);
      return v ? { id: s.id, name: String(v.name), html: String(v.html), text: String(v.text), address: s.address, isDefault: s.isDefault } : { id: s.id, unreadable: true as const };
    });
  }

  /** Creates (no id) or replaces a signature; its name and text are sealed here. */
  async saveSignature(s: Omit<Signature, 'id'> & { id?: string }): Promise<Signature> {
    const { userId, puk } = await this.me();
    const id = s.id ?? crypto.randomUUID();
    const sealed = this.seal('signature', userId, puk, id, { name: s.name, html: s.html, text: s.text });
    const saved = await this.api.request(signaturePut, { params: { id }, body: { address: s.address, isDefault: s.isDefault, sealed } });
    return { id, name: s.name, html: s.html, text: s.text, address: saved.address, isDefault: saved.isDefault };
  }

  async deleteSignature(id: string): Promise<void> {
    await this.api.request(signatureDelete, { params: { id } });
  }

  async templates(): Promise<(Template | Unreadable)[]> {
    const { userId, puks } = await this.me();
    const { templates } = await this.api.request(templateList, {});
    return templates.map((t) => {
      const v = this.open<Omit<Template, 'id'>>('template', userId, puks, t.id, t.sealed);
      return v ? { id: t.id, name: String(v.name), subject: String(v.subject ?? ''), html: String(v.html ?? ''), text: String(v.text ?? '') } : { id: t.id, unreadable: true as const };
    });
  }

  async saveTemplate(t: Omit<Template, 'id'> & { id?: string }): Promise<Template> {
    const { userId, puk } = await this.me();
    const id = t.id ?? crypto.randomUUID();
    const sealed = this.seal('template', userId, puk, id, { name: t.name, subject: t.subject, html: t.html, text: t.text });
    await this.api.request(templatePut, { params: { id }, body: { sealed } });
    return { id, name: t.name, subject: t.subject, html: t.html, text: t.text };
  }

  async deleteTemplate(id: string): Promise<void> {
    await this.api.request(templateDelete, { params: { id } });
  }

  scheduled() {
    return this.api.request(scheduledList, {}).then((r) => r.scheduled);
  }

  cancelScheduled(id: string) {
    return this.api.request(scheduledCancel, { params: { id } });
  }

  async undoSendSeconds(): Promise<number> {
    return (await this.api.request(composeSettingsGet, {})).undoSendSeconds;
  }

  async setUndoSendSeconds(undoSendSeconds: number): Promise<number> {
    return (await this.api.request(composeSettingsUpdate, { body: { undoSendSeconds } })).undoSendSeconds;
  }
}

/**
 * The signature to insert for a sending address: the default one for that address, else the
 * default for any address, else none.
 */
export function signatureFor<S extends Pick<Signature, 'address' | 'isDefault'>>(signatures: readonly S[], address: string): S | null {
  const a = address.toLowerCase();
  return signatures.find((s) => s.isDefault && s.address === a) ?? signatures.find((s) => s.isDefault && s.address === null) ?? null;
}
