import { useEffect, useRef, useState } from 'react';
import { describeError, formatDateTime, formatSize, keys, SafetyNumber, useTranslation, type MailView } from '@sealmail/ui';
import { namedInHtml } from '@sealmail/client/html';
import { AttachedMessageButton, isAttachedMessage, MailBody } from './Inline';
import { blockSender } from './Blocked';
import { ApiClient } from '@sealmail/client';
import { PaperclipIcon } from './Icons';
import { shortDate } from './format';
import { SenderName, SenderText } from '../contacts/SenderName';
import { InvitationCard } from '../calendar/InvitationCard';
import { calendarTwins } from '../calendar/twins';

const api = new ApiClient({ baseUrl: '' });
type Delivery = Awaited<ReturnType<ApiClient['deliveries']>>['deliveries'][number];
type LinkState = Awaited<ReturnType<ApiClient['links']>>['links'][number];

/**
 * For the sender's own copy: how each outside recipient is being reached — standard mail
 * (delivered, waiting with the next attempt, failed) or an expiring link (expiry, whether and
 * when it was opened).
 */
function OutsideRecipients({ entryId }: { entryId: string }) {
  const { t } = useTranslation();
  const [state, setState] = useState<{ deliveries: Delivery[]; links: LinkState[] } | null>(null);
  useEffect(() => {
    let live = true;
    void Promise.all([api.deliveries(entryId), api.links(entryId)]).then(
      ([d, l]) => live && setState({ deliveries: d.deliveries, links: l.links }),
      () => live && setState(null),
    );
    return () => {
      live = false;
    };
  }, [entryId]);
  if (!state || (!state.links.length && !state.deliveries.length)) return null;
  const when = (at: string | null) => (at ? formatDateTime(at) : '');
  const linked = new Set(state.links.map((l) => l.recipient));
  return (
    <section className="outside" aria-label={t('reader.outside')}>
      <h4>{t('reader.outside')}</h4>
      <ul>
        {state.links.map((l) => (
          <li key={`l-${l.recipient}`}>
            {t('reader.expiringLink', { recipient: l.recipient })} {l.expired ? t('reader.expired') : t('reader.until', { date: when(l.expiresAt) })} —{' '}
            {l.openCount ? t('reader.opened', { count: l.openCount, first: when(l.firstOpenedAt), last: when(l.lastOpenedAt) }) : t('reader.notOpened')}
            {l.notice === 'failed' || l.notice === 'cancelled' ? t('reader.noticeFailed') : l.notice === 'queued' ? t('reader.noticeQueued') : ''}
          </li>
        ))}
        {state.deliveries
          .filter((d) => !linked.has(d.recipient))
          .map((d) => (
            <li key={`d-${d.recipient}`}>
              {t('reader.standardMail', { recipient: d.recipient })} {d.status === 'queued' ? t('reader.waiting', { attempts: d.attempts, next: when(d.nextAttemptAt) }) : t(`reader.${d.status}`, { defaultValue: d.status })}
              {d.lastError && d.status !== 'delivered' ? ` — ${d.lastError}` : ''}
            </li>
          ))}
      </ul>
    </section>
  );
}

const previewable = (type: string) => /^image\/(png|jpeg|gif|webp)$/.test(type) || type === 'application/pdf';

/** The protection label every message carries (MISSION §4: every message shows how it was protected). */
export function ProtectionLabel({ protection }: { protection: MailView['protection'] | null }) {
  const { t } = useTranslation();
  if (!protection) return null;
  const kind = protection === 'E2E Encrypted' ? 'e2ee' : protection === 'Unverified' ? 'unverified' : 'server';
  return <span className={`protection ${kind}`}>{t(`protection.${protection}`, { defaultValue: protection })}</span>;
}

/** One attachment: download (decrypted in the key worker, handed over only when whole), or preview. */
function Attachment({ address, mail, a }: { address: string; mail: MailView; a: MailView['attachments'][number] }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);

  async function fetchBlob() {
    setBusy(true);
    setProblem(null);
    try {
      return await keys({ op: 'mailAttachment', address, entryId: mail.entryId, piece: a.piece });
    } catch (err) {
      setProblem(describeError(err));
      return null;
    } finally {
      setBusy(false);
    }
  }
  async function download() {
    const blob = await fetchBlob();
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = a.filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  async function show() {
    const blob = await fetchBlob();
    if (blob) setPreview(URL.createObjectURL(blob));
  }
  return (
    <li>
      <span className="name">{a.filename}</span> <span className="size">{formatSize(a.size)}</span>{' '}
      <button type="button" onClick={() => void download()} disabled={busy} aria-label={t('reader.downloadName', { name: a.filename })}>
        {t('reader.download')}
      </button>
      {previewable(a.contentType) && !preview && (
        <button type="button" onClick={() => void show()} disabled={busy} aria-label={t('reader.previewName', { name: a.filename })}>
          {t('reader.preview')}
        </button>
      )}
      {isAttachedMessage(a.contentType, a.filename) && <AttachedMessageButton filename={a.filename} load={fetchBlob} />}
      {problem && <span role="alert">{problem}</span>}
      {preview && (a.contentType === 'application/pdf' ? <iframe className="preview" title={a.filename} src={preview} /> : <img className="preview" alt={a.filename} src={preview} />)}
    </li>
  );
}

/**
 * Mail from outside can be refused for good: the server then answers 550 to that sender. (Mail
 * from users of this server is end-to-end encrypted and never passes the ingress.)
 */
function BlockSender({ from }: { from: string }) {
  const { t } = useTranslation();
  const [state, setState] = useState<'idle' | 'done' | string>('idle');
  async function block() {
    if (!window.confirm(t('reader.blockConfirm', { address: from }))) return;
    try {
      await blockSender(from);
      setState('done');
    } catch (err) {
      setState(describeError(err));
    }
  }
  if (state === 'done') return <p role="status">{t('reader.blocked', { address: from })}</p>;
  return (
    <>
      <button type="button" className="block-sender" onClick={() => void block()}>
        {t('reader.blockSender')}
      </button>
      {state !== 'idle' && <span role="alert">{state}</span>}
    </>
  );
}

/**
 * The sender started their key history afresh: after comparing their new safety number with
 * them (in person, by phone), the user accepts the new keys; until then nothing is sent to them.
 */
function AcceptReset({ address, of }: { address: string; of: string }) {
  const { t } = useTranslation();
  const [state, setState] = useState<'idle' | 'done' | string>('idle');
  if (state === 'done') return <p className="verified">{t('reader.accepted', { address: of })}</p>;
  return (
    <p className="safety">
      <button
        type="button"
        className="link-button"
        onClick={() =>
          void keys({ op: 'acceptReset', address, of }).then(
            () => setState('done'),
            (err: Error) => setState(describeError(err)),
          )
        }
      >
        {t('reader.acceptReset', { address: of })}
      </button>
      {state !== 'idle' && <span role="alert"> {state}</span>}
    </p>
  );
}

/** One message of a conversation. */
export function MessageView({ address, mail }: { address: string; mail: MailView }) {
  const { t } = useTranslation();
  const mine = mail.from.toLowerCase() === address.toLowerCase();
  // Inline images the HTML shows in place are not listed as files, nor is an invitation's calendar
  // twice (once its two copies are seen to be the same bytes: calendar/twins.ts).
  const [twins, setTwins] = useState<ReadonlySet<number>>(() => new Set());
  useEffect(() => {
    let live = true;
    const bytesOf = async (piece: number) => new Uint8Array(await ((await keys({ op: 'mailAttachment', address, entryId: mail.entryId, piece })) as Blob).arrayBuffer());
    calendarTwins(mail.attachments, bytesOf).then(
      (s) => live && setTwins(s),
      () => {}, // not compared: both stay listed
    );
    return () => {
      live = false;
    };
  }, [address, mail.entryId]);
  const files = mail.attachments.filter((a) => !namedInHtml(mail.html, a.contentId) && !twins.has(a.piece));
  return (
    <article className="message" aria-label={t('reader.messageFrom', { address: mail.from })}>
      <header>
        <h3>{mail.subject || t('mail.noSubject')}</h3>
        <ProtectionLabel protection={mail.protection} />
        {mail.sentBy && <span className="on-behalf">{t('delegation.sentOnBehalf', { delegate: mail.sentBy, mailbox: mail.from })}</span>}
        <dl>
          <dt>{t('reader.from')}</dt>
          <dd>
            <SenderName address={address} mail={mail} />
            {mail.senderVia && <span className="via"> ({t('rules.via', { address: mail.senderVia })})</span>}
          </dd>
          <dt>{t('reader.to')}</dt>
          <dd>{mail.to.join(', ')}</dd>
          {mail.cc.length > 0 && (
            <>
              <dt>{t('reader.cc')}</dt>
              <dd>{mail.cc.join(', ')}</dd>
            </>
          )}
          {mail.bcc.length > 0 && (
            <>
              <dt>{t('reader.bcc')}</dt>
              <dd>{t('reader.bccCount', { count: mail.bcc.length })}</dd>
            </>
          )}
          <dt>{t('reader.date')}</dt>
          <dd>{formatDateTime(mail.date)}</dd>
        </dl>
        {mail.warning && (
          <p role="alert" className="warning">
            {mail.warning}
          </p>
        )}
        {mail.protection === 'E2E Encrypted' && mail.signature === 'signed-valid' && <p className="verified">{t('reader.signed', { address: mail.sentBy ?? mail.from })}</p>}
        {mail.protection === 'Link reply' && <p className="link-reply-note">{t('transfer.linkReplyNote', { address: mail.from })}</p>}
        {mail.senderSafety && !mine && <SafetyNumber address={address} of={mail.sentBy ?? mail.senderVia ?? mail.from} initial={mail.senderSafety} />}
        {mail.senderReset && <AcceptReset address={address} of={mail.senderReset} />}
        {mail.protection === 'Server Encrypted' && mail.from.includes('@') && mail.from.toLowerCase() !== address.toLowerCase() && <BlockSender from={mail.from} />}
      </header>
      {mine && mail.folder === 'sent' && <OutsideRecipients entryId={mail.entryId} />}
      <InvitationCard address={address} mail={mail} />
      <MailBody address={address} mail={mail} title={t('reader.body', { subject: mail.subject })} />
      {files.length > 0 && (
        <>
        <h4 className="attachments-title">
          <PaperclipIcon /> {t('thread.attachments', { count: files.length })}
        </h4>
        <ul className="attachments" aria-label={t('reader.attachments')}>
          {files.map((a) => (
            <Attachment key={a.piece} address={address} mail={mail} a={a} />
          ))}
        </ul>
        </>
      )}
    </article>
  );
}

type ThreadItem = MailView | { entryId: string; error: string };

/**
 * A conversation, oldest first: the newest message, the unread ones and the one chosen open, the
 * others collapsed to a line (sender, date, first words) that opens on a click. Scrolled to the
 * chosen one (from the list: usually the newest).
 */
export function Thread({ address, items, chosen }: { address: string; items: ThreadItem[]; chosen: string | null }) {
  const mails = items.filter((m): m is MailView => !('error' in m));
  const newest = mails.at(-1)?.entryId;
  // The one the user chose (a search hit may be an older message) opens too, and is scrolled to.
  const target = chosen && mails.some((m) => m.entryId === chosen) ? chosen : newest;
  const [open, setOpen] = useState(() => new Set(mails.filter((m) => !m.read || m.entryId === newest || m.entryId === target).map((m) => m.entryId)));
  const { t } = useTranslation();
  const last = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (items.length > 1) last.current?.scrollIntoView({ block: 'start' });
  }, [items.length]);
  return (
    <>
      {items.length > 1 && <p className="thread-count">{t('thread.count', { count: items.length })}</p>}
      {items.map((m) => (
        <div key={m.entryId} className="thread-item" ref={m.entryId === target ? last : undefined}>
          {'error' in m ? (
            <p role="alert">{t('mail.undecryptable')}</p>
          ) : open.has(m.entryId) ? (
            <MessageView address={address} mail={m} />
          ) : (
            <button type="button" className="collapsed-message" aria-expanded="false" onClick={() => setOpen((o) => new Set(o).add(m.entryId))}>
              <span className="from" title={m.from}>
                <SenderText address={address} mail={m} />
              </span>
              <span className="date">{shortDate(m.date)}</span>
              <span className="snippet">{m.text.replace(/\s+/g, ' ').slice(0, 120)}</span>
            </button>
          )}
        </div>
      ))}
    </>
  );
}
