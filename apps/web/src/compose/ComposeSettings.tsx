import './compose.css';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiClient } from '@sealmail/client';
import { composeSettingsGet, composeSettingsUpdate, signatureDelete, templateDelete, undoSendChoices } from '@sealmail/contract';
import { describeError, keys, useTranslation, type SignatureItem, type TemplateItem } from '@sealmail/ui';
import { textToHtml } from './html';

const api = new ApiClient({ baseUrl: '' });

/** The undo-send delay the user chose (0: off), from the server (a preference that follows the user). */
export const undoSendSeconds = () => api.request(composeSettingsGet, {}).then((r) => r.undoSendSeconds);

/**
 * Settings → Compose: the undo-send delay, signatures (several, per sending address, one default
 * each) and templates. Signatures and templates are sealed in the key worker to the user's own
 * key; the server stores ciphertext only.
 */
export function ComposeSettings({ address }: { address: string }) {
  const { t } = useTranslation();
  const [delay, setDelay] = useState<number | null>(null);
  const [signatures, setSignatures] = useState<SignatureItem[]>([]);
  const [templates, setTemplates] = useState<TemplateItem[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  const load = async () => {
    try {
      setDelay(await undoSendSeconds());
      setSignatures((await keys({ op: 'signatures', address })).filter((s): s is SignatureItem => !('unreadable' in s)));
      setTemplates((await keys({ op: 'templates', address })).filter((s): s is TemplateItem => !('unreadable' in s)));
    } catch (err) {
      setProblem(describeError(err));
    }
  };
  useEffect(() => void load(), [address]);

  async function saveDelay(n: number) {
    setProblem(null);
    try {
      setDelay((await api.request(composeSettingsUpdate, { body: { undoSendSeconds: n } })).undoSendSeconds);
      setStatus(t('composeTools.saved'));
    } catch (err) {
      setProblem(describeError(err));
    }
  }

  async function addSignature(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const text = String(f.get('text') ?? '').trim();
    const name = String(f.get('name') ?? '').trim();
    if (!name || !text) return setProblem(t('composeTools.signatureNeeds'));
    setProblem(null);
    try {
      await keys({ op: 'saveSignature', address, signature: { name, text, html: textToHtml(text), address: String(f.get('for') ?? '') || null, isDefault: f.get('default') === 'on' } });
      form.reset();
      setStatus(t('composeTools.saved'));
      await load();
    } catch (err) {
      setProblem(describeError(err));
    }
  }

  async function makeDefault(s: SignatureItem) {
    await keys({ op: 'saveSignature', address, signature: { ...s, isDefault: true } }).catch((err: unknown) => setProblem(describeError(err)));
    await load();
  }

  async function addTemplate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const name = String(f.get('name') ?? '').trim();
    const text = String(f.get('text') ?? '');
    if (!name || !text.trim()) return setProblem(t('composeTools.templateNeeds'));
    setProblem(null);
    try {
      await keys({ op: 'saveTemplate', address, template: { name, subject: String(f.get('subject') ?? ''), text, html: textToHtml(text) } });
      form.reset();
      setStatus(t('composeTools.saved'));
      await load();
    } catch (err) {
      setProblem(describeError(err));
    }
  }

  const remove = async (kind: 'signature' | 'template', id: string) => {
    await api.request(kind === 'signature' ? signatureDelete : templateDelete, { params: { id } }).catch((err: unknown) => setProblem(describeError(err)));
    await load();
  };

  return (
    <section id="settings-compose" className="account-section compose-settings" aria-labelledby="compose-settings-title">
      <h2 id="compose-settings-title">{t('composeTools.title')}</h2>
      <label className="field">
        {t('composeTools.undoDelay')}{' '}
        <select value={delay ?? 0} disabled={delay === null} onChange={(e) => void saveDelay(Number(e.target.value))}>
          {undoSendChoices.map((n) => (
            <option key={n} value={n}>
              {n === 0 ? t('composeTools.undoOff') : t('composeTools.seconds', { count: n })}
            </option>
          ))}
        </select>
      </label>

      <h3>{t('composeTools.signatures')}</h3>
      <p className="sub">{t('composeTools.signaturesIntro')}</p>
      {signatures.length === 0 && <p>{t('composeTools.noSignatures')}</p>}
      <ul className="compose-items">
        {signatures.map((s) => (
          <li key={s.id}>
            <strong>{s.name}</strong> <span className="sub">{s.address ?? t('composeTools.anyAddress')}</span> {s.isDefault && <span className="badge">{t('composeTools.default')}</span>}
            <pre>{s.text}</pre>
            {!s.isDefault && (
              <button type="button" onClick={() => void makeDefault(s)}>
                {t('composeTools.makeDefault')}
              </button>
            )}{' '}
            <button type="button" onClick={() => void remove('signature', s.id)} aria-label={t('composeTools.deleteNamed', { name: s.name })}>
              {t('composeTools.delete')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void addSignature(e)} aria-label={t('composeTools.newSignature')} className="compose-item-form">
        <label>
          {t('composeTools.name')} <input name="name" maxLength={100} />
        </label>
        <label>
          {t('composeTools.text')} <textarea name="text" rows={3} />
        </label>
        <label>
          {t('composeTools.forAddress')}{' '}
          <select name="for" defaultValue="">
            <option value="">{t('composeTools.anyAddress')}</option>
            <option value={address}>{address}</option>
          </select>
        </label>
        <label className="check">
          <input type="checkbox" name="default" defaultChecked={signatures.length === 0} /> {t('composeTools.useByDefault')}
        </label>
        <button type="submit">{t('composeTools.addSignature')}</button>
      </form>

      <h3>{t('composeTools.templates')}</h3>
      <p className="sub">{t('composeTools.templatesIntro')}</p>
      {templates.length === 0 && <p>{t('composeTools.noTemplates')}</p>}
      <ul className="compose-items">
        {templates.map((tpl) => (
          <li key={tpl.id}>
            <strong>{tpl.name}</strong> {tpl.subject && <span className="sub">{tpl.subject}</span>}
            <pre>{tpl.text}</pre>
            <button type="button" onClick={() => void remove('template', tpl.id)} aria-label={t('composeTools.deleteNamed', { name: tpl.name })}>
              {t('composeTools.delete')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void addTemplate(e)} aria-label={t('composeTools.newTemplate')} className="compose-item-form">
        <label>
          {t('composeTools.name')} <input name="name" maxLength={100} />
        </label>
        <label>
          {t('fields.subject')} <input name="subject" maxLength={500} />
        </label>
        <label>
          {t('composeTools.text')} <textarea name="text" rows={4} />
        </label>
        <button type="submit">{t('composeTools.addTemplate')}</button>
      </form>
      <p role="status">{status}</p>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
