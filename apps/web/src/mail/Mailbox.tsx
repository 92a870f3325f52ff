import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiClient } from '@sealmail/client';
import type { FolderName } from '@sealmail/contract';
import { describeError, endedMessage, formatDate, formatDateTime, formatSize, formatTime, i18n, keys, KEYS_CHANGED_EVENT, PendingDevicesAlert, useTranslation, type MailRow, type MailView } from '@sealmail/ui';
import { Compose, type ComposeSeed } from './Compose';
import { MessageView, ProtectionLabel } from './Reader';

const api = new ApiClient({ baseUrl: '' });
const FOLDERS: { id: FolderName; name: string }[] = [
  { id: 'inbox', name: 'Inbox' },
  { id: 'drafts', name: 'Drafts' },
  { id: 'sent', name: 'Sent' },
  { id: 'outbox', name: 'Outbox' },
  { id: 'archive', name: 'Archive' },
  { id: 'spam', name: 'Spam' },
  { id: 'trash', name: 'Trash' },
];
type Summary = Awaited<ReturnType<ApiClient['mailSummary']>>;
const shortDate = (iso: string) => {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? formatTime(d) : formatDate(d);
};
const quote = (m: MailView) => `${i18n.t('mail.quote', { date: formatDateTime(m.date), from: m.from })}\n${m.text.split('\n').map((l) => `> ${l}`).join('\n')}`;

/**
 * The desktop-style mailbox: folders with unread counts, the message list, the reading pane with
 * the whole conversation, and the compose window. Decryption happens in the key worker; this
 * thread sees plaintext only to show it. New mail arrives over server-sent events. Shortcuts:
 * c compose, r reply, a reply all, e archive, # delete, s star, u unread, j/k next/previous.
 */
export function Mailbox({ address, displayName, onEnded, settings }: { address: string; displayName: string; onEnded: (message: string) => void; settings: ReactNode }) {
  const { t } = useTranslation();
  const [folder, setFolder] = useState<FolderName | 'settings'>('inbox');
  const [rows, setRows] = useState<MailRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [thread, setThread] = useState<(MailView | { entryId: string; error: string })[] | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [compose, setCompose] = useState<ComposeSeed | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [labels, setLabels] = useState<{ id: string; name: string }[]>([]);
  const [label, setLabel] = useState<string | null>(null);
  const [newLabel, setNewLabel] = useState('');
  const [query, setQuery] = useState('');
  const [searching, setSearching] = useState<string | null>(null);
  // On a phone the folder list is a menu over the page (styles.css); on a desktop it is always shown.
  const [menuOpen, setMenuOpen] = useState(false);
  const menu = useRef<HTMLElement>(null);
  useEffect(() => {
    if (menuOpen) menu.current?.querySelector<HTMLElement>('[aria-current="page"], li button')?.focus();
  }, [menuOpen]);
  const searchBox = useRef<HTMLInputElement>(null);
  const listGen = useRef(0);

  const failed = useCallback(
    (err: unknown) => {
      const e = err as { code?: string; message?: string };
      // The session ended, or may now only change its password or enrol TOTP: the app decides what next.
      if (e.code === 'DEVICE_REVOKED' || e.code === 'UNAUTHENTICATED' || e.code === 'TOTP_ENROLLMENT_REQUIRED' || e.code === 'PASSWORD_CHANGE_REQUIRED') onEnded(endedMessage(e));
      else setProblem(describeError(e));
    },
    [onEnded],
  );

  const refreshSummary = useCallback(() => void api.mailSummary().then(setSummary, failed), [failed]);

  const load = useCallback(
    async (f: FolderName, more: string | null = null) => {
      const gen = ++listGen.current;
      setLoading(true);
      try {
        const page = await keys({ op: 'mailList', address, folder: f, cursor: more, limit: 50, ...(label ? { label } : {}) });
        if (gen !== listGen.current) return;
        setRows((old) => (more ? [...old, ...page.rows] : page.rows));
        setCursor(page.cursor);
      } catch (err) {
        failed(err);
      } finally {
        if (gen === listGen.current) setLoading(false);
      }
    },
    [address, failed, label],
  );

  const loadLabels = useCallback(() => void keys({ op: 'labels', address }).then(setLabels, failed), [address, failed]);
  useEffect(() => loadLabels(), [loadLabels]);

  async function addLabel() {
    if (!newLabel.trim()) return;
    try {
      await keys({ op: 'createLabel', address, name: newLabel });
      setNewLabel('');
      loadLabels();
    } catch (err) {
      failed(err);
    }
  }

  async function toggleLabel(id: string) {
    if (!current) return;
    const has = current.labelIds.includes(id);
    const labelIds = has ? current.labelIds.filter((l) => l !== id) : [...current.labelIds, id];
    try {
      await api.updateMail(current.entryId, { labelIds });
      setRows((rs) => rs.map((r) => (r.entryId === current.entryId ? { ...r, labelIds } : r)));
    } catch (err) {
      failed(err);
    }
  }

  useEffect(() => {
    if (folder === 'settings') return;
    setSelected(null);
    setThread(null);
    void load(folder);
    refreshSummary();
  }, [folder, load, refreshSummary]);

  // New mail without reloading: the server tells this mailbox when an entry arrives or changes.
  useEffect(() => {
    const events = new EventSource('/api/v1/mail/events');
    events.addEventListener('mail', (e: MessageEvent<string>) => {
      // A device asks to join: every signed-in device shows it at once (PendingDevicesAlert).
      if ((JSON.parse(e.data) as { kind?: string }).kind === 'keys') return void window.dispatchEvent(new Event(KEYS_CHANGED_EVENT));
      refreshSummary();
      if (folder !== 'settings' && !searching) void load(folder);
      void keys({ op: 'searchSync', address }).catch(() => undefined);
    });
    return () => events.close();
  }, [folder, load, refreshSummary, searching, address]);

  /** Searches the on-device index (brought up to date first); the list shows the hits. */
  async function search(q: string) {
    if (!q.trim()) {
      setSearching(null);
      if (folder !== 'settings') void load(folder);
      return;
    }
    setLoading(true);
    try {
      const r = await keys({ op: 'search', address, query: q });
      setSearching(q);
      setCursor(null);
      setSelected(null);
      setThread(null);
      setRows(
        r.hits.map((h) => ({ entryId: h.entryId, threadId: '', folder: h.folder as FolderName, date: h.date, read: true, starred: false, labelIds: [], protection: null, warning: null, subject: h.subject, from: h.from, fromName: '', to: [], snippet: '', attachmentCount: 0, error: null })),
      );
    } catch (err) {
      failed(err);
    } finally {
      setLoading(false);
    }
  }

  async function open(row: MailRow) {
    setSelected(row.entryId);
    setProblem(null);
    setThread(null);
    try {
      const threadId = row.threadId || (await keys({ op: 'mailOpen', address, entryId: row.entryId })).threadId;
      const items = await keys({ op: 'mailThread', address, threadId });
      setThread(items.length ? items : [await keys({ op: 'mailOpen', address, entryId: row.entryId })]);
      if (!row.read) {
        await api.updateMail(row.entryId, { read: true });
        setRows((rs) => rs.map((r) => (r.entryId === row.entryId ? { ...r, read: true } : r)));
        refreshSummary();
      }
    } catch (err) {
      failed(err);
    }
  }

  const current = rows.find((r) => r.entryId === selected) ?? null;
  const latest = thread?.filter((t): t is MailView => !('error' in t)).at(-1) ?? null;

  async function act(kind: 'archive' | 'delete' | 'star' | 'unread') {
    if (!current) return;
    try {
      if (kind === 'delete') {
        const r = await api.deleteMail(current.entryId);
        setStatus(r.deleted === 'trash' ? t('mail.movedToTrash') : t('mail.deletedForGood'));
      } else if (kind === 'archive') {
        await api.updateMail(current.entryId, { folder: 'archive' });
        setStatus(t('mail.archived'));
      } else if (kind === 'star') {
        await api.updateMail(current.entryId, { starred: !current.starred });
        setRows((rs) => rs.map((r) => (r.entryId === current.entryId ? { ...r, starred: !r.starred } : r)));
        return;
      } else {
        await api.updateMail(current.entryId, { read: false });
        setRows((rs) => rs.map((r) => (r.entryId === current.entryId ? { ...r, read: false } : r)));
        refreshSummary();
        return;
      }
      setRows((rs) => rs.filter((r) => r.entryId !== current.entryId));
      setSelected(null);
      setThread(null);
      refreshSummary();
    } catch (err) {
      failed(err);
    }
  }

  function reply(all: boolean) {
    if (!latest) return;
    const mine = latest.from === address;
    const to = mine ? latest.to : [latest.from];
    const cc = all ? [...latest.to, ...latest.cc].filter((a) => a !== address && !to.includes(a)) : [];
    setCompose({ to: to.join(', '), cc: cc.join(', '), subject: /^re:/i.test(latest.subject) ? latest.subject : `Re: ${latest.subject}`, quote: quote(latest), inReplyTo: latest });
  }

  // Keyboard shortcuts for the common actions (not while typing).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (compose || e.ctrlKey || e.metaKey || e.altKey || t.closest('input, textarea, [contenteditable="true"]')) return;
      const i = rows.findIndex((r) => r.entryId === selected);
      const go = (j: number) => rows[j] && void open(rows[j]!);
      const map: Record<string, () => void> = {
        c: () => setCompose({}),
        '/': () => searchBox.current?.focus(),
        r: () => reply(false),
        a: () => reply(true),
        e: () => void act('archive'),
        '#': () => void act('delete'),
        s: () => void act('star'),
        u: () => void act('unread'),
        j: () => go(i + 1),
        k: () => go(Math.max(0, i - 1)),
      };
      const f = map[e.key];
      if (f) {
        e.preventDefault();
        f();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const counts = new Map(summary?.folders.map((f) => [f.folder, f]) ?? []);
  const title = folder === 'settings' ? t('mail.settings') : searching ? t('mail.searchResults') : label ? (labels.find((l) => l.id === label)?.name ?? t('mail.label')) : t(`mail.folders.${folder}`);
  /** Back from an opened message to the list (the one-pane phone layout). */
  const closeMessage = () => {
    const was = selected;
    setSelected(null);
    setThread(null);
    setProblem(null);
    // Focus goes back to the row that was open (the list is shown again).
    requestAnimationFrame(() => document.querySelector<HTMLElement>(`.list .row[data-entry="${was}"]`)?.focus());
  };
  // A phone shows one pane at a time: the list, or the opened message (a notice keeps the reader in view).
  const layout = ['mailbox', folder !== 'settings' && selected ? 'reading' : '', menuOpen ? 'menu-open' : '', status || problem ? 'notice' : ''].filter(Boolean).join(' ');
  return (
    <div className={layout}>
      <PendingDevicesAlert address={address} />
      <PhoneBar title={title} menuOpen={menuOpen} onMenu={() => setMenuOpen(!menuOpen)} onCompose={() => setCompose({})} />
      {/* A tap beside the open folder menu closes it (Escape and the menu button do too). */}
      {menuOpen && <div className="menu-backdrop" aria-hidden="true" onClick={() => setMenuOpen(false)} />}
      <nav ref={menu} id="folders" className="folders" aria-label={t('mail.foldersNav')} onClick={(e) => (e.target as HTMLElement).closest('li button') && setMenuOpen(false)} onKeyDown={(e) => e.key === 'Escape' && (setMenuOpen(false), document.querySelector<HTMLElement>('.menu-button')?.focus())}>
        <button type="button" className="compose-button" onClick={() => (setMenuOpen(false), setCompose({}))} title={t('mail.composeShortcut')}>
          {t('mail.compose')}
        </button>
        <ul>
          {FOLDERS.map((f) => {
            const c = counts.get(f.id);
            const n = f.id === 'drafts' ? c?.total : c?.unread;
            return (
              <li key={f.id}>
                <button type="button" aria-current={folder === f.id && !label ? 'page' : undefined} onClick={() => (setSearching(null), setQuery(''), folder === f.id && !label ? void load(f.id) : (setLabel(null), setFolder(f.id)))}>
                  {t(`mail.folders.${f.id}`)}
                  {!!n && <span className="count" aria-label={f.id === 'drafts' ? t('mail.countDrafts', { count: n }) : t('mail.countUnread', { count: n })}>{n}</span>}
                </button>
              </li>
            );
          })}
          <li>
            <button type="button" aria-current={folder === 'settings' ? 'page' : undefined} onClick={() => setFolder('settings')}>
              {t('mail.settings')}
            </button>
          </li>
          <li>
            <button type="button" onClick={() => (window.location.hash = 'calendar')}>{t('calendar.openCalendar')}</button>
          </li>
        </ul>
        <h3 className="labels-title">{t('mail.labels')}</h3>
        <ul aria-label={t('mail.labels')}>
          {labels.map((l) => (
            <li key={l.id}>
              <button type="button" aria-current={label === l.id ? 'page' : undefined} onClick={() => (setFolder('inbox'), setLabel(l.id))}>
                {l.name}
              </button>
            </li>
          ))}
        </ul>
        <form className="new-label" onSubmit={(e) => (e.preventDefault(), void addLabel())}>
          <input aria-label={t('mail.newLabel')} placeholder={t('mail.newLabel')} value={newLabel} onChange={(e) => setNewLabel(e.target.value)} maxLength={100} />
        </form>
        {summary && (
          <p className="quota">
            {t('mail.quota', { used: formatSize(summary.quota.usedBytes), total: formatSize(summary.quota.quotaBytes) })}
          </p>
        )}
      </nav>
      {folder === 'settings' ? (
        <section className="settings">{settings}</section>
      ) : (
        <>
          <section className="list" aria-label={t('mail.messages')} aria-busy={loading}>
            <form role="search" className="search" onSubmit={(e) => (e.preventDefault(), void search(query))}>
              <input ref={searchBox} type="search" aria-label={t('mail.search')} placeholder={t('mail.searchPlaceholder')} value={query} onChange={(e) => setQuery(e.target.value)} />
            </form>
            <h2>{searching ? t('mail.resultsFor', { query: searching }) : label ? labels.find((l) => l.id === label)?.name : t(`mail.folders.${folder}`)}</h2>
            {rows.length === 0 && !loading && <p className="empty">{t('mail.empty')}</p>}
            <ul>
              {rows.map((r) => (
                <li key={r.entryId}>
                  <button type="button" data-entry={r.entryId} className={`row${r.read ? '' : ' unread'}${r.entryId === selected ? ' selected' : ''}`} onClick={() => void open(r)}>
                    <RowContent row={r} from={!searching && (folder === 'sent' || folder === 'drafts') ? t('mail.toList', { list: r.to.join(', ') || '—' }) : r.fromName || r.from} labelName={(id) => labels.find((l) => l.id === id)?.name ?? '…'} />
                  </button>
                </li>
              ))}
            </ul>
            {cursor && (
              <button type="button" className="more" onClick={() => void load(folder, cursor)} disabled={loading}>
                {t('mail.older')}
              </button>
            )}
          </section>
          <section className="reader" aria-label={t('mail.readingPane')}>
            {current && (
              <button type="button" className="back" onClick={closeMessage} aria-label={t('mail.backToList')} autoFocus>
                {t('mail.back')}
              </button>
            )}
            {status && (
              <p role="status" onAnimationEnd={() => setStatus(null)}>
                {status}
              </p>
            )}
            {problem && <p role="alert">{problem}</p>}
            {current && (
              <div className="actions" role="toolbar" aria-label={t('mail.actions')}>
                {current.folder === 'drafts' ? (
                  latest && (
                    <button type="button" onClick={() => setCompose({ to: latest.to.join(', '), cc: latest.cc.join(', '), subject: latest.subject, body: latest.text, draftId: latest.entryId })}>
                      {t('mail.editDraft')}
                    </button>
                  )
                ) : (
                  <>
                    <button type="button" onClick={() => reply(false)} title={t('mail.replyShortcut')}>
                      {t('mail.reply')}
                    </button>
                    <button type="button" onClick={() => reply(true)} title={t('mail.replyAllShortcut')}>
                      {t('mail.replyAll')}
                    </button>
                    <button type="button" onClick={() => void act('archive')} title={t('mail.archiveShortcut')}>
                      {t('mail.archive')}
                    </button>
                  </>
                )}
                {labels.length > 0 && (
                  <select aria-label={t('mail.label')} value="" onChange={(e) => e.target.value && void toggleLabel(e.target.value)}>
                    <option value="">{t('mail.labelPlaceholder')}</option>
                    {labels.map((l) => (
                      <option key={l.id} value={l.id}>
                        {current.labelIds.includes(l.id) ? '✓ ' : ''}
                        {l.name}
                      </option>
                    ))}
                  </select>
                )}
                <button type="button" onClick={() => void act('star')} title={t('mail.starShortcut')}>
                  {current.starred ? t('mail.unstar') : t('mail.star')}
                </button>
                <button type="button" onClick={() => void act('delete')} title={t('mail.deleteShortcut')}>
                  {t('mail.delete')}
                </button>
              </div>
            )}
            {thread?.map((m) => ('error' in m ? <p key={m.entryId} role="alert">{t('mail.undecryptable')}</p> : <MessageView key={m.entryId} address={address} mail={m} />))}
            {!current && !problem && <p className="empty">{t('mail.selectMessage')}</p>}
          </section>
        </>
      )}
      {compose && (
        <Compose
          address={address}
          displayName={displayName}
          seed={compose}
          onClose={() => {
            setCompose(null);
            refreshSummary();
          }}
          onSent={(message) => {
            setCompose(null);
            setStatus(message);
            if (folder !== 'settings') void load(folder);
            refreshSummary();
          }}
        />
      )}
    </div>
  );
}

/** The top bar of the one-pane phone layout (hidden on wider screens): the folder menu, where you are, compose. */
function PhoneBar({ title, menuOpen, onMenu, onCompose }: { title: string; menuOpen: boolean; onMenu: () => void; onCompose: () => void }) {
  const { t } = useTranslation();
  return (
    <header className="phone-bar">
      <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="folders" onClick={onMenu}>
        {t('mail.foldersNav')}
      </button>
      <span className="where">{title}</span>
      <button type="button" className="compose-button" onClick={onCompose}>
        {t('mail.compose')}
      </button>
    </header>
  );
}

/**
 * A list row's content. The button is named by it, so the subject comes first in the page (said
 * as "Unread: Subject from address, starred, 2 attachments"); the stylesheet shows sender and
 * date above it. Words only a screen reader needs are visually hidden; icons are hidden from it.
 */
function RowContent({ row: r, from, labelName }: { row: MailRow; from: string; labelName: (id: string) => string }) {
  const { t } = useTranslation();
  if (r.error)
    return (
      <>
        <span className="subject error">
          <span className="visually-hidden">{t('mail.undecryptableRow')}</span>
          {t('mail.rowUndecryptable')}
        </span>
        <span className="from">{from}</span>
        <span className="date">{shortDate(r.date)}</span>
      </>
    );
  return (
    <>
      <span className="subject">
        {!r.read && <span className="visually-hidden">{t('mail.unread')}</span>}
        {r.starred && <span aria-hidden="true">★ </span>}
        {r.subject || t('mail.noSubject')}
        <span className="visually-hidden">{t('mail.from', { address: r.from })}</span>
        {r.starred && <span className="visually-hidden">{t('mail.starred')}</span>}
        {r.attachmentCount > 0 && <span className="visually-hidden">{t('mail.attachments', { count: r.attachmentCount })}</span>}
        {r.attachmentCount > 0 && <span aria-hidden="true"> 📎</span>}
      </span>
      <span className="from">{from}</span>
      <span className="date">{shortDate(r.date)}</span>
      <span className="snippet">{r.snippet}</span>
      {r.labelIds.length > 0 && (
        <span className="chips">
          {r.labelIds.map((id) => (
            <span key={id} className="chip">
              {labelName(id)}
            </span>
          ))}
        </span>
      )}
      <ProtectionLabel protection={r.protection} />
    </>
  );
}
