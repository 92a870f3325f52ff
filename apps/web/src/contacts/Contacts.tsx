import { useLayoutEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { contactsCall, describeError, useTranslation } from '@sealmail/ui';
import { groupsOf } from '@sealmail/client/contact-groups';
import { useContacts, type Contact } from './store';
import './contacts.css';

type Labelled = { label?: string; value: string };

/** "Work: a@b.example" per line ↔ labelled values. */
const toLines = (l: readonly Labelled[]) => l.map((x) => (x.label ? `${x.label}: ${x.value}` : x.value)).join('\n');
const fromLines = (s: string): Labelled[] =>
  s
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const m = /^([^:@+\d][^:@]{0,49}):\s*(.+)$/.exec(line);
      return m ? { label: m[1]!.trim(), value: m[2]!.trim() } : { value: line };
    });

interface Draft {
  id: string | null;
  version: number;
  name: string;
  emails: string;
  phones: string;
  groups: string;
  notes: string;
}
const blank: Draft = { id: null, version: 0, name: '', emails: '', phones: '', groups: '', notes: '' };
const draftOf = (c: Contact): Draft => ({ id: c.id, version: c.version, name: c.name, emails: toLines(c.emails), phones: toLines(c.phones), groups: c.groups.join(', '), notes: c.notes });

function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The address book (#contacts): search, filter by group, add and edit contacts, import and
 * export vCard or Google CSV. Contacts are sealed and opened by the key worker on this device;
 * files are read and written here too, never sent anywhere.
 */
export function Contacts({ address, onMail }: { address: string; onMail: () => void }) {
  const { t } = useTranslation();
  const book = useContacts(address);
  const [query, setQuery] = useState('');
  const [group, setGroup] = useState('');
  const [draft, setDraft] = useState<Draft | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameField = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useLayoutEffect(() => heading.current?.focus(), []);
  useLayoutEffect(() => {
    if (draft && !draft.id) nameField.current?.focus();
  }, [draft?.id, draft === null]);

  const groups = useMemo(() => [...groupsOf(book.contacts).values()].map((g) => g.name).sort((a, b) => a.localeCompare(b)), [book.contacts]);
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return book.contacts.filter(
      (c) =>
        (!group || c.groups.some((g) => g.toLowerCase() === group.toLowerCase())) &&
        (!q || c.name.toLowerCase().includes(q) || c.emails.some((e) => e.value.includes(q)) || c.phones.some((p) => p.value.includes(q)) || c.groups.some((g) => g.toLowerCase().includes(q)) || c.notes.toLowerCase().includes(q)),
    );
  }, [book.contacts, query, group]);

  async function run(what: () => Promise<string>) {
    setBusy(true);
    setProblem(null);
    setStatus(null);
    try {
      setStatus(await what());
    } catch (err) {
      setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  function save(e: FormEvent) {
    e.preventDefault();
    if (!draft) return;
    const fields = { name: draft.name, emails: fromLines(draft.emails), phones: fromLines(draft.phones), groups: draft.groups.split(',').map((g) => g.trim()).filter(Boolean), notes: draft.notes };
    void run(async () => {
      const saved = draft.id ? await contactsCall(address, { kind: 'update', contact: { ...(book.contacts.find((c) => c.id === draft.id) ?? {}), ...fields, id: draft.id, version: draft.version } as Contact }) : await contactsCall(address, { kind: 'create', fields });
      await book.reload();
      setDraft(draftOf(saved));
      return t('contacts.saved', { name: saved.name });
    });
  }

  function remove() {
    if (!draft?.id || !window.confirm(t('contacts.deleteConfirm', { name: draft.name }))) return;
    const id = draft.id;
    void run(async () => {
      await contactsCall(address, { kind: 'delete', id });
      await book.reload();
      setDraft(null);
      return t('contacts.deleted', { name: draft.name });
    });
  }

  function importFile(file: File | undefined) {
    if (!file) return;
    void run(async () => {
      const r = await contactsCall(address, { kind: 'import', text: await file.text() });
      await book.reload();
      return r.skipped.length ? t('contacts.importedSkipped', { count: r.added, skipped: r.skipped.length, first: r.skipped[0] }) : t('contacts.imported', { count: r.added });
    });
  }

  function exportAs(format: 'vcard' | 'vcard3' | 'google-csv') {
    void run(async () => {
      const text = await contactsCall(address, { kind: 'export', format });
      if (format === 'google-csv') download('contacts.csv', 'text/csv;charset=utf-8', text);
      else download('contacts.vcf', 'text/vcard;charset=utf-8', text);
      return t('contacts.exported', { count: book.contacts.length });
    });
  }

  // The editor is named by the saved name, not the one being typed.
  const savedName = book.contacts.find((c) => c.id === draft?.id)?.name ?? draft?.name ?? '';
  const edit = (d: Draft | null) => (setDraft(d), setStatus(null), setProblem(null));

  return (
    <main className="contacts-page">
      <header>
        <h1 ref={heading} tabIndex={-1}>
          {t('contacts.title')}
        </h1>
        <button type="button" onClick={onMail}>
          {t('contacts.backToMail')}
        </button>
        <button type="button" className="primary" onClick={() => edit({ ...blank, groups: group })}>
          {t('contacts.new')}
        </button>
        <label className="file-button">
          {t('contacts.import')}
          <input type="file" accept=".vcf,.vcard,.csv,text/vcard,text/csv" onChange={(e) => (importFile(e.target.files?.[0]), (e.target.value = ''))} disabled={busy} />
        </label>
        <button type="button" onClick={() => exportAs('vcard')} disabled={busy || !book.contacts.length}>
          {t('contacts.exportVcard')}
        </button>
        <button type="button" onClick={() => exportAs('vcard3')} disabled={busy || !book.contacts.length}>
          {t('contacts.exportVcard3')}
        </button>
        <button type="button" onClick={() => exportAs('google-csv')} disabled={busy || !book.contacts.length}>
          {t('contacts.exportCsv')}
        </button>
      </header>
      <div className={`contacts-body${draft ? ' editing' : ''}`}>
        <section className="contacts-list" aria-label={t('contacts.list')}>
          <input type="search" aria-label={t('contacts.search')} placeholder={t('contacts.search')} value={query} onChange={(e) => setQuery(e.target.value)} />
          <select aria-label={t('contacts.groupFilter')} value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="">{t('contacts.allContacts')}</option>
            {groups.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
          {book.imported > 0 && <p role="status">{t('contacts.pickedUp', { count: book.imported })}</p>}
          {book.unreadable > 0 && <p role="alert">{t('contacts.unreadable', { count: book.unreadable })}</p>}
          {!!book.error && <p role="alert">{describeError(book.error)}</p>}
          {!book.loaded ? <p>{t('app.loading')}</p> : shown.length === 0 ? <p>{book.contacts.length ? t('contacts.noMatch') : t('contacts.empty')}</p> : null}
          <ul>
            {shown.map((c) => (
              <li key={c.id}>
                <button type="button" aria-current={draft?.id === c.id ? 'true' : undefined} onClick={() => edit(draftOf(c))}>
                  <span>{c.name}</span>
                  {c.emails[0] && <span className="contact-address">{c.emails[0].value}</span>}
                </button>
              </li>
            ))}
          </ul>
        </section>
        {(status || problem) && !draft && (
          <div className="notice">
            {status && <p role="status">{status}</p>}
            {problem && <p role="alert">{problem}</p>}
          </div>
        )}
        {draft && (
          <form className="contact-editor" aria-label={draft.id ? t('contacts.editing', { name: savedName }) : t('contacts.new')} onSubmit={save}>
            <h2>{draft.id ? savedName : t('contacts.new')}</h2>
            <label>
              {t('contacts.name')}
              <input ref={nameField} value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} maxLength={200} />
            </label>
            <label>
              {t('contacts.emails')}
              <textarea rows={3} value={draft.emails} onChange={(e) => setDraft({ ...draft, emails: e.target.value })} aria-describedby="contact-emails-hint" />
            </label>
            <p id="contact-emails-hint" className="hint">
              {t('contacts.linesHint')}
            </p>
            <label>
              {t('contacts.phones')}
              <textarea rows={2} value={draft.phones} onChange={(e) => setDraft({ ...draft, phones: e.target.value })} />
            </label>
            <label>
              {t('contacts.groups')}
              <input value={draft.groups} onChange={(e) => setDraft({ ...draft, groups: e.target.value })} aria-describedby="contact-groups-hint" />
            </label>
            <p id="contact-groups-hint" className="hint">
              {t('contacts.groupsHint')}
            </p>
            <label>
              {t('contacts.notes')}
              <textarea rows={4} value={draft.notes} onChange={(e) => setDraft({ ...draft, notes: e.target.value })} />
            </label>
            {status && <p role="status">{status}</p>}
            {problem && <p role="alert">{problem}</p>}
            <div className="buttons">
              <button type="submit" className="primary" disabled={busy}>
                {t('contacts.save')}
              </button>
              <button type="button" onClick={() => edit(null)}>
                {t('contacts.close')}
              </button>
              {draft.id && (
                <button type="button" className="danger" onClick={remove} disabled={busy}>
                  {t('contacts.delete')}
                </button>
              )}
            </div>
          </form>
        )}
      </div>
    </main>
  );
}
