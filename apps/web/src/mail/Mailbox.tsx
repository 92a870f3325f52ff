import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { ApiClient } from '@sealmail/client';
import type { FolderName } from '@sealmail/contract';
import { describeError, endedMessage, formatDateTime, formatSize, i18n, keys, KEYS_CHANGED_EVENT, PendingDevicesAlert, useTranslation, type MailRow, type MailView } from '@sealmail/ui';
import { Compose, type ComposeSeed } from './Compose';
import { Thread } from './Reader';
import { RowContent } from './Row';
import { MessageList, type MessageListHandle } from './MessageList';
import { IndexProgress } from './IndexProgress';
import { SenderText } from '../contacts/SenderName';
import { Toasts, useToasts } from './Toasts';
import { ShortcutsDialog } from './Shortcuts';
import { notifyNewMail, tabTitle } from './notify';
import { AccountMenu } from '../settings/AccountMenu';
import { DelegatedActions, MailboxSwitcher, type DelegatedMailbox } from '../delegation/MailboxSwitcher';
import { OutboxActions } from '../compose/OutboxActions';
import { reopenSeed } from '../compose/reopen';
import { CustomFolders, customFolderOf, dropTarget, EmptyTrash, FolderTools, listArgs, STARRED, useCustomFolders } from './Folders';
import { BulkBar } from './BulkBar';
import { MoveMenu } from './MoveMenu';
import { forwardAsAttachmentSeed, forwardSeed } from './Forward';
import { bulk, DRAG_TYPE, reportSpam, restore, undoMove, type MoveTarget } from './organise';

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
/** Folders a message can be moved into (and so back out of, by Undo). */
const MOVABLE = ['inbox', 'archive', 'spam', 'trash'] as const;
type Movable = (typeof MOVABLE)[number];
/** How long after the last key the mailbox searches (it merges a burst of keys into one search). */
const SEARCH_DEBOUNCE_MS = 30;
const chunks = <T,>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const movable = (f: string): f is Movable => (MOVABLE as readonly string[]).includes(f);
const folderName = (f: string) => i18n.t(`mail.folders.${f}`);
const quote = (m: MailView) => `${i18n.t('mail.quote', { date: formatDateTime(m.date), from: m.from })}\n${m.text.split('\n').map((l) => `> ${l}`).join('\n')}`;

/**
 * The desktop-style mailbox: a header with the account menu; folders with unread counts, the
 * message list, the reading pane with the conversation, and the compose window; or, at
 * #settings, the settings page in their place. Decryption happens in the key worker; this
 * thread sees plaintext only to show it. New mail arrives over server-sent events (the Inbox's
 * unread count goes into the tab's title; a desktop notification when the user opted in).
 * Keyboard shortcuts: see Shortcuts.tsx ("?" lists them).
 */
export function Mailbox({ address, displayName, onEnded, view, settings, onNavigate, onSignOut }: { address: string; displayName: string; onEnded: (message: string) => void; view: 'mail' | 'settings'; settings: ReactNode; onNavigate: (hash: string) => void; onSignOut: () => void }) {
  const { t } = useTranslation();
  const [folder, setFolder] = useState<FolderName>('inbox');
  const [rows, setRows] = useState<MailRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [thread, setThread] = useState<(MailView | { entryId: string; error: string })[] | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [compose, setCompose] = useState<ComposeSeed | null>(null);
  const { toasts, show, dismiss } = useToasts();
  const [shortcuts, setShortcuts] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [labels, setLabels] = useState<{ id: string; name: string }[]>([]);
  const [label, setLabel] = useState<string | null>(null);
  const [newLabel, setNewLabel] = useState('');
  const [query, setQuery] = useState('');
  const [searching, setSearching] = useState<string | null>(null);
  // A mailbox delegated to this user that they switched to (null: their own).
  const [delegated, setDelegated] = useState<DelegatedMailbox | null>(null);
  // On a phone the folder list is a menu over the page (styles.css); on a desktop it is always shown.
  const [menuOpen, setMenuOpen] = useState(false);
  const menu = useRef<HTMLElement>(null);
  useEffect(() => {
    if (menuOpen) menu.current?.querySelector<HTMLElement>('[aria-current="page"], li button')?.focus();
  }, [menuOpen]);
  const searchBox = useRef<HTMLInputElement>(null);
  // The virtualised list (MessageList.tsx): its scrolling pane, and how to bring a row into view.
  const listPane = useRef<HTMLElement>(null);
  const listHandle = useRef<MessageListHandle>(null);
  const listGen = useRef(0);
  const pendingG = useRef(0);
  const inSettings = view === 'settings';

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
  // Organising (Folders.tsx, BulkBar.tsx): custom folders, the checked rows, the last one checked (Shift-click ranges).
  const custom = useCustomFolders(address, failed);
  const [checked, setChecked] = useState<string[]>([]);
  const lastChecked = useRef<string | null>(null);

  const load = useCallback(
    async (f: FolderName, more: string | null = null) => {
      const gen = ++listGen.current;
      setLoading(true);
      try {
        const page = await keys({ op: 'mailList', address, folder: f, cursor: more, limit: 50, ...listArgs(label) });
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

  // Scrolling near the end of the loaded rows asks for the next page.
  const loadMore = useCallback(() => void (cursor && load(folder, cursor)), [cursor, folder, load]);
  const loadLabels = useCallback(() => void keys({ op: 'labels', address }).then(setLabels, failed), [address, failed]);
  // Again on the way back from Settings, where labels are renamed and deleted.
  useEffect(() => void (view === 'mail' && loadLabels()), [loadLabels, view]);

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
    setSelected(null);
    setThread(null);
    setChecked([]);
    void load(folder);
    refreshSummary();
  }, [folder, load, refreshSummary]);

  // New mail without reloading: the server tells this mailbox when an entry arrives or changes.
  const onMail = useRef<(data: { kind?: string; entryId?: string; folder?: string }) => void>(() => undefined);
  onMail.current = (data) => {
    // A device asks to join: every signed-in device shows it at once (PendingDevicesAlert).
    if (data.kind === 'keys') return void window.dispatchEvent(new Event(KEYS_CHANGED_EVENT));
    // A calendar reminder (calendar/ReminderNotices.tsx shows it): nothing in the mailbox changed.
    if (data.kind === 'reminder') return;
    refreshSummary();
    if (!searching) void load(folder);
    void keys({ op: 'searchSync', address }).catch(() => undefined);
    if (data.kind === 'new' && data.folder === 'inbox' && data.entryId) {
      const entryId = data.entryId;
      // Content filters run here, on the device, after decryption (rules/Filters.tsx).
      void keys({ op: 'contentRulesApply', address, entryIds: [entryId] }).then((r) => void (r.changed && load(folder)), () => undefined);
      void notifyNewMail(address, entryId, () => {
        onNavigate('');
        setFolder('inbox');
        setLabel(null);
        void open({ entryId, threadId: '', read: false } as MailRow);
      }).catch(() => undefined);
    }
  };
  useEffect(() => {
    const events = new EventSource('/api/v1/mail/events');
    events.addEventListener('mail', (e: MessageEvent<string>) => onMail.current(JSON.parse(e.data) as { kind?: string }));
    return () => events.close();
  }, []);

  /** Searches the on-device index (brought up to date first); the list shows the hits. */
  async function search(q: string) {
    if (!q.trim()) {
      setSearching(null);
      void load(folder);
      return;
    }
    const gen = ++searchGen.current;
    setLoading(true);
    try {
      const r = await keys({ op: 'search', address, query: q });
      if (gen !== searchGen.current) return;
      // The index was still being brought up to date: search again once it is, if it found more.
      if (r.syncing) void keys({ op: 'searchSync', address }).then((s) => void (s.added && gen === searchGen.current && search(q)), () => undefined);
      setSearching(q);
      setCursor(null);
      setSelected(null);
      setThread(null);
      const basic = (h: (typeof r.hits)[number]): MailRow => ({ entryId: h.entryId, threadId: '', folder: h.folder as FolderName, date: h.date, read: true, starred: false, labelIds: [], protection: null, warning: null, subject: h.subject, from: h.from, fromName: '', to: [], snippet: '', attachmentCount: 0, error: null });
      setRows(r.hits.map(basic));
      // Each hit as a full row (snippet, star, labels, verified protection), opened on this device:
      // once typing has paused, a few at a time, and not at all once another search began (the
      // openings would hold up the key worker, and with it the next keystroke's results).
      await new Promise((ok) => setTimeout(ok, 300));
      const full: MailRow[] = [];
      for (const batch of chunks(r.hits.slice(0, 40), 6)) {
        if (gen !== searchGen.current) return;
        full.push(
          ...(await Promise.all(
            batch.map(async (h): Promise<MailRow> => {
              try {
                const m = await keys({ op: 'mailOpen', address, entryId: h.entryId });
                return { entryId: m.entryId, threadId: m.threadId, folder: m.folder, date: m.date, read: m.read, starred: m.starred, labelIds: m.labelIds, protection: m.protection, warning: m.warning, subject: m.subject, from: m.from, fromName: m.fromName, to: m.to, snippet: m.text.replace(/\s+/g, ' ').trim().slice(0, 160), attachmentCount: m.attachments.length, error: null };
              } catch {
                return basic(h);
              }
            }),
          )),
        );
      }
      if (gen !== searchGen.current) return;
      setRows((old) => (old.length && old[0]!.entryId === full[0]?.entryId ? [...full, ...old.slice(full.length)] : old));
    } catch (err) {
      failed(err);
    } finally {
      if (gen === searchGen.current) setLoading(false);
    }
  }
  // Search as one types (the on-device index answers from memory in a few milliseconds), a moment
  // after the last key (a fast typist's keys come ~100 ms apart; this only merges bursts).
  const searchGen = useRef(0);
  const typed = useRef(false);
  const searchNow = useRef(search);
  searchNow.current = search;
  useEffect(() => {
    if (!typed.current) return;
    const timer = setTimeout(() => void searchNow.current(query), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query]);

  async function open(row: MailRow) {
    setSelected(row.entryId);
    setProblem(null);
    setThread(null);
    try {
      const threadId = row.threadId || (await keys({ op: 'mailOpen', address, entryId: row.entryId })).threadId;
      const items = await keys({ op: 'mailThread', address, threadId });
      setThread(items.length ? items : [await keys({ op: 'mailOpen', address, entryId: row.entryId })]);
      if (!row.read && !delegated) {
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

  /** Takes a message out of the list (it moved away); the next one is not opened by itself. */
  function drop(entryId: string) {
    setRows((rs) => rs.filter((r) => r.entryId !== entryId));
    if (selected === entryId) {
      setSelected(null);
      setThread(null);
    }
    refreshSummary();
  }

  /** Undo of a move: back to the folder it came from, and into the list again. */
  const moveBack = (entryId: string, from: Movable) => async () => {
    try {
      await api.updateMail(entryId, { folder: from });
      show(t('toast.movedBack', { folder: folderName(from) }));
      if (!searching) void load(folder);
      refreshSummary();
    } catch (err) {
      failed(err);
    }
  };

  async function act(kind: 'archive' | 'delete' | 'star' | 'unread', row: MailRow | null = current) {
    // A delegated mailbox is read (and answered) here, not rearranged: its owner keeps its folders and flags.
    if (!row || delegated) return;
    const from = row.folder;
    try {
      if (kind === 'delete') {
        const r = await api.deleteMail(row.entryId);
        drop(row.entryId);
        if (r.deleted === 'trash') show(t('mail.movedToTrash'), movable(from) ? moveBack(row.entryId, from) : undefined);
        else show(t('mail.deletedForGood'));
      } else if (kind === 'archive') {
        if (from === 'archive') return show(t('toast.alreadyArchived'));
        await api.updateMail(row.entryId, { folder: 'archive' });
        drop(row.entryId);
        show(t('mail.archived'), movable(from) ? moveBack(row.entryId, from) : undefined);
      } else if (kind === 'star') {
        await api.updateMail(row.entryId, { starred: !row.starred });
        setRows((rs) => rs.map((r) => (r.entryId === row.entryId ? { ...r, starred: !r.starred } : r)));
      } else {
        await api.updateMail(row.entryId, { read: false });
        setRows((rs) => rs.map((r) => (r.entryId === row.entryId ? { ...r, read: false } : r)));
        refreshSummary();
      }
    } catch (err) {
      failed(err);
    }
  }

  /** Moves entries (checked rows, a dragged row, the open one) anywhere; Undo puts each back. */
  async function moveMany(ids: string[], to: MoveTarget, name: string) {
    if (delegated) return;
    try {
      const { before } = await bulk(ids, to);
      setChecked([]);
      if (selected && ids.includes(selected)) {
        setSelected(null);
        setThread(null);
      }
      show(t('organise.movedCount', { count: ids.length, folder: name }), async () => {
        await undoMove(before);
        show(t('organise.undone'));
        void load(folder);
        refreshSummary();
        custom.reload();
      });
      void load(folder);
      refreshSummary();
      custom.reload();
    } catch (err) {
      failed(err);
    }
  }

  /** Marks, labels or judges the checked rows. */
  async function changeMany(run: () => Promise<unknown>, message: string) {
    try {
      await run();
      setChecked([]);
      show(message);
      void load(folder);
      refreshSummary();
      custom.reload();
    } catch (err) {
      failed(err);
    }
  }

  /** A checkbox: toggles one row, or with Shift the range from the last one checked. */
  function check(entryId: string, range: boolean) {
    const at = rows.findIndex((r) => r.entryId === entryId);
    const from = rows.findIndex((r) => r.entryId === lastChecked.current);
    const on = !checked.includes(entryId);
    const ids = range && from >= 0 ? rows.slice(Math.min(at, from), Math.max(at, from) + 1).map((r) => r.entryId) : [entryId];
    setChecked((c) => (on ? [...new Set([...c, ...ids])] : c.filter((x) => !ids.includes(x))));
    lastChecked.current = entryId;
  }

  function reply(all: boolean) {
    if (!latest) return;
    const mine = latest.from === address;
    const to = mine ? latest.to : [latest.from];
    const cc = all ? [...latest.to, ...latest.cc].filter((a) => a !== address && !to.includes(a)) : [];
    setCompose({ to: to.join(', '), cc: cc.join(', '), subject: /^re:/i.test(latest.subject) ? latest.subject : `Re: ${latest.subject}`, quote: quote(latest), inReplyTo: latest });
  }

  /** Back from an opened message to the list (the one-pane phone layout). */
  const closeMessage = () => {
    const was = selected;
    setSelected(null);
    setThread(null);
    setProblem(null);
    // Focus goes back to the row that was open (the list is shown again).
    requestAnimationFrame(() => was && listHandle.current?.focusRow(was));
  };
  const goInbox = () => {
    onNavigate('');
    setSearching(null);
    setQuery('');
    setLabel(null);
    setFolder('inbox');
  };

  // Keyboard shortcuts (Shortcuts.tsx lists them), never while typing in a field. A layout effect:
  // Preact runs plain effects after paint, so for a frame after the composer closed the listener
  // still saw it open and swallowed a "c" pressed at once.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (compose || shortcuts || e.ctrlKey || e.metaKey || e.altKey || t.closest('input, textarea, select, [contenteditable="true"], [role="menu"], dialog')) return;
      // "g" then "i": to the Inbox.
      if (pendingG.current && Date.now() - pendingG.current < 1500 && e.key === 'i') {
        pendingG.current = 0;
        e.preventDefault();
        return goInbox();
      }
      pendingG.current = e.key === 'g' ? Date.now() : 0;
      const focusedRow = t.closest<HTMLElement>('.list .row');
      const rowIndex = (el: HTMLElement | null) => rows.findIndex((r) => r.entryId === el?.dataset.entry);
      const i = selected ? rows.findIndex((r) => r.entryId === selected) : rowIndex(focusedRow);
      // With a message open, j/k open the next/previous; in the list they move the focus.
      const step = (d: number) => {
        const j = Math.min(rows.length - 1, Math.max(0, i + d));
        if (!rows[j]) return;
        if (selected) void open(rows[j]!);
        else listHandle.current?.focusRow(rows[j]!.entryId);
      };
      const always: Record<string, () => void> = {
        '?': () => setShortcuts(true),
        c: () => setCompose({}),
        Escape: () => (inSettings ? onNavigate('') : selected ? closeMessage() : menuOpen ? setMenuOpen(false) : undefined),
      };
      const inMail: Record<string, () => void> = {
        '/': () => searchBox.current?.focus(),
        r: () => reply(false),
        a: () => reply(true),
        e: () => void act('archive'),
        '#': () => void act('delete'),
        s: () => void act('star'),
        u: () => void act('unread'),
        x: () => {
          const r = selected ? current : rows[rowIndex(focusedRow)];
          if (r) check(r.entryId, e.shiftKey);
        },
        j: () => step(1),
        k: () => step(-1),
        o: () => {
          const r = rows[Math.max(0, rowIndex(focusedRow))];
          if (r) void open(r);
        },
      };
      const f = always[e.key] ?? (inSettings ? undefined : inMail[e.key]);
      if (f) {
        e.preventDefault();
        f();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const counts = new Map(delegated ? [] : (summary?.folders.map((f) => [f.folder, f]) ?? []));
  const openCustom = custom.folders.find((f) => f.id === customFolderOf(label)) ?? null;
  const title = inSettings ? t('settings.title') : searching ? t('mail.searchResults') : label === STARRED ? t('organise.starred') : openCustom ? openCustom.name : label ? (labels.find((l) => l.id === label)?.name ?? t('mail.label')) : delegated ? `${t(`mail.folders.${folder}`)} · ${delegated.address}` : t(`mail.folders.${folder}`);
  const inboxUnread = counts.get('inbox')?.unread ?? 0;
  useEffect(() => {
    document.title = tabTitle(title, inboxUnread);
  }, [title, inboxUnread]);
  // A phone shows one pane at a time: the list, or the opened message.
  const layout = ['mailbox', inSettings ? 'in-settings' : '', !inSettings && selected ? 'reading' : '', menuOpen ? 'menu-open' : '', problem ? 'notice' : ''].filter(Boolean).join(' ');
  const from = (r: MailRow) => (!searching && (folder === 'sent' || folder === 'drafts' || folder === 'outbox') ? t('mail.toList', { list: r.to.join(', ') || t('mail.nobodyYet') }) : <SenderText address={address} mail={r} />);
  return (
    <div className={layout}>
      <PendingDevicesAlert address={address} />
      <TopBar title={title} inSettings={inSettings} menuOpen={menuOpen} onMenu={() => setMenuOpen(!menuOpen)} onCompose={() => setCompose({})}>
        <AccountMenu displayName={displayName} address={address} onSettings={() => onNavigate('#settings')} onShortcuts={() => setShortcuts(true)} onSignOut={onSignOut} />
      </TopBar>
      {/* A tap beside the open folder menu closes it (Escape and the menu button do too). */}
      {menuOpen && <div className="menu-backdrop" aria-hidden="true" onClick={() => setMenuOpen(false)} />}
      {inSettings ? (
        settings
      ) : (
        <>
          <nav ref={menu} id="folders" className="folders" aria-label={t('mail.foldersNav')} onClick={(e) => (e.target as HTMLElement).closest('li button') && setMenuOpen(false)} onKeyDown={(e) => e.key === 'Escape' && (setMenuOpen(false), document.querySelector<HTMLElement>('.menu-button')?.focus())}>
            <button type="button" className="compose-button" onClick={() => (setMenuOpen(false), setCompose({}))} title={t('mail.composeShortcut')}>
              {t('mail.compose')}
            </button>
            <MailboxSwitcher address={address} current={delegated} onSwitch={(m) => (setDelegated(m), setSelected(null), setThread(null), setSearching(null), setLabel(null), setFolder('inbox'), void load('inbox'))} />
            <ul>
              {FOLDERS.map((f) => {
                const c = counts.get(f.id);
                const n = f.id === 'drafts' ? c?.total : c?.unread;
                return (
                  <li key={f.id}>
                    <button type="button" aria-current={folder === f.id && !label && !searching ? 'page' : undefined} onClick={() => (setSearching(null), setQuery(''), folder === f.id && !label ? void load(f.id) : (setLabel(null), setFolder(f.id)))} {...(movable(f.id) ? dropTarget((ids) => void moveMany(ids, { folder: f.id as Movable }, folderName(f.id))) : {})}>
                      {t(`mail.folders.${f.id}`)}
                      {!!n && <span className="count" aria-label={f.id === 'drafts' ? t('mail.countDrafts', { count: n }) : t('mail.countUnread', { count: n })}>{n}</span>}
                    </button>
                  </li>
                );
              })}
              <li>
                <button type="button" onClick={() => onNavigate('#calendar')}>
                  {t('calendar.openCalendar')}
                </button>
              </li>
              <li>
                <button type="button" onClick={() => onNavigate('#contacts')}>
                  {t('contacts.title')}
                </button>
              </li>
            </ul>
            <CustomFolders
              address={address}
              folders={custom.folders}
              current={label}
              onOpen={(v) => (setSearching(null), setQuery(''), setFolder(customFolderOf(v) ? 'archive' : 'inbox'), setLabel(v))}
              onDropTo={(ids, to, name) => void moveMany(ids, to, name)}
              reload={custom.reload}
              failed={failed}
            />
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
          <section ref={listPane} className="list" aria-label={t('mail.messages')} aria-busy={loading}>
            <form role="search" className="search" onSubmit={(e) => (e.preventDefault(), void search(query))}>
              <input ref={searchBox} type="search" aria-label={t('mail.search')} placeholder={t('mail.searchPlaceholder')} value={query} onChange={(e) => ((typed.current = true), setQuery(e.target.value))} />
            </form>
            <IndexProgress address={address} />
            <h2>{searching ? t('mail.resultsFor', { query: searching }) : title}</h2>
            {openCustom && !searching && <FolderTools address={address} folder={openCustom} onChanged={custom.reload} onDeleted={(moved) => (show(t('organise.folderDeleted', { count: moved })), custom.reload(), setLabel(null), setFolder('inbox'))} failed={failed} />}
            {folder === 'trash' && !label && !searching && <EmptyTrash count={counts.get('trash')?.total ?? 0} onEmptied={(n) => (show(t('organise.trashEmptied', { count: n })), void load(folder), refreshSummary())} failed={failed} />}
            {checked.length > 0 && (
              <BulkBar
                count={checked.length}
                folder={openCustom ? `folder:${openCustom.id}` : folder}
                folders={custom.folders}
                labels={labels}
                onMove={(to, name) => void moveMany(checked, to, name)}
                onMark={(read) => void changeMany(() => bulk(checked, { read }), read ? t('organise.markedRead', { count: checked.length }) : t('organise.markedUnread', { count: checked.length }))}
                onLabel={(id) => void changeMany(() => bulk(checked, { addLabels: [id] }), t('organise.labelled', { count: checked.length }))}
                onSpam={(v) => void changeMany(() => reportSpam(checked, v), v === 'spam' ? t('organise.reportedSpam', { count: checked.length }) : t('organise.markedNotSpam', { count: checked.length }))}
                onClear={() => setChecked([])}
              />
            )}
            {rows.length === 0 && !loading && <p className="empty">{t('mail.empty')}</p>}
            <MessageList
              rows={rows}
              scroller={listPane}
              handle={listHandle}
              hasMore={!!cursor && !searching}
              loading={loading}
              onMore={loadMore}
              renderRow={(r) => (
                <>
                  <input type="checkbox" className="row-check" aria-label={t('organise.selectRow', { subject: r.subject || r.from })} checked={checked.includes(r.entryId)} onClick={(e) => check(r.entryId, e.shiftKey)} onChange={() => undefined} />
                  <button
                    type="button"
                    data-entry={r.entryId}
                    className={`row${r.read ? '' : ' unread'}${r.entryId === selected ? ' selected' : ''}${checked.includes(r.entryId) ? ' checked' : ''}`}
                    onClick={() => void open(r)}
                    draggable
                    onDragStart={(e) => e.dataTransfer?.setData(DRAG_TYPE, JSON.stringify(checked.includes(r.entryId) ? checked : [r.entryId]))}
                  >
                    <RowContent row={r} from={from(r)} labelName={(id) => labels.find((l) => l.id === id)?.name ?? '…'} />
                  </button>
                </>
              )}
            />
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
            {problem && <p role="alert">{problem}</p>}
            {current && delegated && <DelegatedActions onReply={reply} />}
            {current && !delegated && (
              <div className="actions" role="toolbar" aria-label={t('mail.actions')}>
                {current.folder === 'outbox' && latest ? (
                  <OutboxActions address={address} mail={latest} onEdit={(seed) => (setCompose(seed), void load(folder), refreshSummary())} onCancelled={() => (closeMessage(), void load(folder), refreshSummary())} />
                ) : current.folder === 'drafts' ? (
                  latest?.ownDraft && (
                    <button type="button" onClick={() => void reopenSeed(address, latest, { draftId: latest.entryId }).then(setCompose, (err: unknown) => setProblem(describeError(err)))}>
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
                    {latest && (
                      <button type="button" onClick={() => void forwardSeed(address, latest).then(setCompose, failed)}>
                        {t('organise.forward')}
                      </button>
                    )}
                    {latest && (
                      <button type="button" onClick={() => void forwardAsAttachmentSeed(address, latest).then(setCompose, failed)}>
                        {t('extras.forwardAttached')}
                      </button>
                    )}
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
                {movable(current.folder) && <MoveMenu folders={custom.folders} current={openCustom ? `folder:${openCustom.id}` : current.folder} onMove={(to, name) => void moveMany([current.entryId], to, name)} />}
                {current.folder === 'trash' && (
                  <button type="button" onClick={() => void restore([current.entryId]).then(() => (drop(current.entryId), show(t('organise.restored')), custom.reload()), failed)}>
                    {t('organise.restore')}
                  </button>
                )}
                {(current.folder === 'spam' || current.folder === 'inbox') && current.from !== address && (
                  <button type="button" onClick={() => void reportSpam([current.entryId], current.folder === 'spam' ? 'not-spam' : 'spam').then(() => (drop(current.entryId), show(current.folder === 'spam' ? t('organise.markedNotSpam', { count: 1 }) : t('organise.reportedSpam', { count: 1 }))), failed)}>
                    {current.folder === 'spam' ? t('organise.notSpam') : t('organise.reportSpam')}
                  </button>
                )}
                <button type="button" onClick={() => void act('star')} title={t('mail.starShortcut')} aria-pressed={current.starred}>
                  {current.starred ? t('mail.starredButton') : t('mail.star')}
                </button>
                <button type="button" onClick={() => void act('delete')} title={t('mail.deleteShortcut')}>
                  {t('mail.delete')}
                </button>
              </div>
            )}
            {thread && <Thread key={`${selected}-${thread.length}`} address={address} items={thread} chosen={selected} />}
            {!current && !problem && <p className="empty">{t('mail.selectMessage')}</p>}
          </section>
        </>
      )}
      <Toasts toasts={toasts} dismiss={dismiss} />
      {shortcuts && <ShortcutsDialog onClose={() => setShortcuts(false)} />}
      {compose && (
        <Compose
          address={address}
          displayName={displayName}
          seed={compose}
          onClose={() => {
            setCompose(null);
            refreshSummary();
          }}
          onSent={(message, held) => {
            setCompose(null);
            // Undo send: the held mail is cancelled and the compose window reopens with everything in it.
            show(message, held && (() => held.undo().then(setCompose, (err: unknown) => void show(describeError(err)))), held && held.seconds * 1000);
            void load(folder);
            refreshSummary();
          }}
        />
      )}
    </div>
  );
}

/**
 * The header: on a phone the folder menu, where you are and compose; on a wider screen the
 * product's name. The account menu at the end, at every size.
 */
function TopBar({ title, inSettings, menuOpen, onMenu, onCompose, children }: { title: string; inSettings: boolean; menuOpen: boolean; onMenu: () => void; onCompose: () => void; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <header className="topbar">
      {!inSettings && (
        <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="folders" onClick={onMenu}>
          {t('mail.foldersNav')}
        </button>
      )}
      <span className="brand">Sealmail</span>
      <span className="where">{title}</span>
      {!inSettings && (
        <button type="button" className="compose-button" onClick={onCompose}>
          {t('mail.compose')}
        </button>
      )}
      {children}
    </header>
  );
}
