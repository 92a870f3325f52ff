import { useEffect, useState, type FormEvent } from 'react';
import { ApiClient } from '@sealmail/client';
import { filterList, filterReplace, forwardAdd, forwardList, forwardRemove, forwardVerify, type MailFilterView } from '@sealmail/contract';
import { describeError, keys, useTranslation, type ContentRule } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
type Conditions = MailFilterView['conditions'];
type Actions = MailFilterView['actions'];
type Forward = { id: string; address: string; verified: boolean };
type Label = { id: string; name: string };
const FOLDERS = ['inbox', 'archive', 'trash', 'spam'] as const;

/**
 * Settings → Filters: two kinds, kept apart because they differ in who can read them.
 * "Run by the server" filters see only what the server sees anyway (sender, the address the mail
 * came to, List-Id, size, attachments) and act at delivery; "Run on your devices" filters look at
 * subject and body after decryption, and are stored sealed (the server cannot read them).
 */
export function Filters({ address }: { address: string }) {
  const { t } = useTranslation();
  const [labels, setLabels] = useState<Label[]>([]);
  useEffect(() => {
    void keys({ op: 'labels', address }).then(setLabels, () => setLabels([]));
  }, [address]);
  return (
    <section id="settings-filters" aria-labelledby="filters-title" className="rules">
      <h2 id="filters-title">{t('rules.filtersTitle')}</h2>
      <ServerFilters labels={labels} />
      <DeviceFilters address={address} labels={labels} />
    </section>
  );
}

function describeFilter(t: (k: string, o?: Record<string, unknown>) => string, f: { conditions: Conditions; actions: Actions }, labels: Label[], forwards: Forward[]) {
  const c = f.conditions;
  const when = [
    c.from && t('rules.whenFrom', { value: c.from }),
    c.to && t('rules.whenTo', { value: c.to }),
    c.listId && t('rules.whenList', { value: c.listId }),
    c.sizeOver !== undefined && t('rules.whenSize', { value: Math.round(c.sizeOver / 1024) }),
    c.hasAttachment && t('rules.whenAttachment'),
  ].filter(Boolean);
  const a = f.actions;
  const then = [
    a.folder && t('rules.doFolder', { value: t(`mail.folders.${a.folder}`) }),
    ...(a.labelIds ?? []).map((id) => t('rules.doLabel', { value: labels.find((l) => l.id === id)?.name ?? '?' })),
    a.star && t('rules.doStar'),
    a.markRead && t('rules.doRead'),
    a.forwardTo && t('rules.doForward', { value: forwards.find((x) => x.id === a.forwardTo)?.address ?? '?' }),
  ].filter(Boolean);
  return `${when.join(', ')} → ${then.join(', ')}`;
}

function ServerFilters({ labels }: { labels: Label[] }) {
  const { t } = useTranslation();
  const [filters, setFilters] = useState<MailFilterView[] | null>(null);
  const [forwards, setForwards] = useState<Forward[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [condition, setCondition] = useState<'from' | 'to' | 'listId' | 'sizeOver' | 'hasAttachment'>('from');
  const [action, setAction] = useState<'folder' | 'label' | 'star' | 'markRead' | 'forward'>('folder');
  const reload = () => {
    void api.call(filterList).then((r) => setFilters(r.filters), (e: unknown) => setProblem(describeError(e)));
    void api.call(forwardList).then((r) => setForwards(r.addresses), () => undefined);
  };
  useEffect(reload, []);

  async function save(next: { conditions: Conditions; actions: Actions }[]) {
    setProblem(null);
    try {
      setFilters((await api.call(filterReplace, { filters: next })).filters);
      return true;
    } catch (e) {
      setProblem(describeError(e));
      return false;
    }
  }

  async function add(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const value = String(data.get('conditionValue') ?? '').trim();
    const target = String(data.get('actionValue') ?? '');
    const conditions: Conditions = condition === 'hasAttachment' ? { hasAttachment: true } : condition === 'sizeOver' ? { sizeOver: Math.round(Number(value) * 1024) } : { [condition]: value };
    const actions: Actions =
      action === 'folder' ? { folder: target as (typeof FOLDERS)[number] } : action === 'label' ? { labelIds: [target] } : action === 'star' ? { star: true } : action === 'markRead' ? { markRead: true } : { forwardTo: target };
    if (await save([...(filters ?? []).map(({ conditions: c, actions: a }) => ({ conditions: c, actions: a })), { conditions, actions }])) form.reset();
  }

  return (
    <div className="rules-kind">
      <h3>{t('rules.serverTitle')}</h3>
      <p className="sub">{t('rules.serverIntro')}</p>
      {filters && filters.length === 0 && <p>{t('rules.none')}</p>}
      <ul>
        {filters?.map((f, i) => (
          <li key={f.id}>
            <span>{describeFilter(t, f, labels, forwards)}</span>{' '}
            <button type="button" aria-label={t('rules.removeNamed', { what: describeFilter(t, f, labels, forwards) })} onClick={() => void save(filters.filter((_, j) => j !== i).map(({ conditions, actions }) => ({ conditions, actions })))}>
              {t('rules.remove')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void add(e)} aria-label={t('rules.serverForm')}>
        <label>
          {t('rules.when')}{' '}
          <select value={condition} onChange={(e) => setCondition(e.currentTarget.value as typeof condition)}>
            <option value="from">{t('rules.condFrom')}</option>
            <option value="to">{t('rules.condTo')}</option>
            <option value="listId">{t('rules.condList')}</option>
            <option value="sizeOver">{t('rules.condSize')}</option>
            <option value="hasAttachment">{t('rules.condAttachment')}</option>
          </select>
        </label>
        {condition !== 'hasAttachment' && <input name="conditionValue" required aria-label={t('rules.conditionValue')} type={condition === 'sizeOver' ? 'number' : 'text'} min={condition === 'sizeOver' ? 0 : undefined} placeholder={t(`rules.placeholder.${condition}`)} />}
        <label>
          {t('rules.then')}{' '}
          <select value={action} onChange={(e) => setAction(e.currentTarget.value as typeof action)}>
            <option value="folder">{t('rules.actFolder')}</option>
            <option value="label">{t('rules.actLabel')}</option>
            <option value="star">{t('rules.actStar')}</option>
            <option value="markRead">{t('rules.actRead')}</option>
            <option value="forward">{t('rules.actForward')}</option>
          </select>
        </label>
        {action === 'folder' && (
          <select name="actionValue" aria-label={t('rules.actionValue')}>
            {FOLDERS.map((f) => (
              <option key={f} value={f}>
                {t(`mail.folders.${f}`)}
              </option>
            ))}
          </select>
        )}
        {action === 'label' && (
          <select name="actionValue" aria-label={t('rules.actionValue')} required>
            {labels.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        )}
        {action === 'forward' && (
          <select name="actionValue" aria-label={t('rules.actionValue')} required>
            {forwards.map((f) => (
              <option key={f.id} value={f.id}>
                {f.verified ? f.address : t('rules.unverified', { address: f.address })}
              </option>
            ))}
          </select>
        )}
        <button type="submit">{t('rules.add')}</button>
      </form>
      <ForwardAddresses forwards={forwards} onChanged={reload} />
      {problem && <p role="alert">{problem}</p>}
    </div>
  );
}

function ForwardAddresses({ forwards, onChanged }: { forwards: Forward[]; onChanged: () => void }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const run = async (f: () => Promise<unknown>, done?: string) => {
    setProblem(null);
    setNote(null);
    try {
      await f();
      if (done) setNote(done);
      onChanged();
      return true;
    } catch (e) {
      setProblem(describeError(e));
      return false;
    }
  };
  return (
    <div className="forwards">
      <h4>{t('rules.forwardsTitle')}</h4>
      <p className="sub">{t('rules.forwardsIntro')}</p>
      <ul>
        {forwards.map((f) => (
          <li key={f.id}>
            <span>{f.address}</span> <span className="sub">{f.verified ? t('rules.verified') : t('rules.waitingCode')}</span>{' '}
            {!f.verified && (
              <form
                className="inline"
                aria-label={t('rules.codeFor', { address: f.address })}
                onSubmit={(e) => {
                  e.preventDefault();
                  const code = String(new FormData(e.currentTarget).get('code'));
                  void run(() => api.request(forwardVerify, { params: { id: f.id }, body: { code } }));
                }}
              >
                <input name="code" required aria-label={t('rules.codeFor', { address: f.address })} placeholder={t('rules.code')} />
                <button type="submit">{t('rules.verify')}</button>
              </form>
            )}
            <button type="button" aria-label={t('rules.removeNamed', { what: f.address })} onClick={() => void run(() => api.request(forwardRemove, { params: { id: f.id } }))}>
              {t('rules.remove')}
            </button>
          </li>
        ))}
      </ul>
      <form
        aria-label={t('rules.forwardForm')}
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const address = String(new FormData(form).get('address')).trim();
          void run(() => api.call(forwardAdd, { address }), t('rules.codeSent', { address })).then((ok) => ok && form.reset());
        }}
      >
        <input name="address" type="email" required aria-label={t('rules.forwardAddress')} placeholder={t('rules.forwardPlaceholder')} />
        <button type="submit">{t('rules.sendCode')}</button>
      </form>
      {note && <p role="status">{note}</p>}
      {problem && <p role="alert">{problem}</p>}
    </div>
  );
}

function DeviceFilters({ address, labels }: { address: string; labels: Label[] }) {
  const { t } = useTranslation();
  const [rules, setRules] = useState<ContentRule[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [action, setAction] = useState<'label' | 'star' | 'markRead' | 'folder'>('label');
  useEffect(() => {
    void keys({ op: 'contentRules', address }).then(setRules, (e: unknown) => setProblem(describeError(e)));
  }, [address]);
  async function save(next: ContentRule[]) {
    setProblem(null);
    try {
      await keys({ op: 'contentRulesSave', address, rules: next });
      setRules(next);
      return true;
    } catch (e) {
      setProblem(describeError(e));
      return false;
    }
  }
  const describe = (r: ContentRule) =>
    `${t(`rules.field.${r.field}`)} ${t('rules.contains', { value: r.contains })} → ${[
      r.labelId && t('rules.doLabel', { value: labels.find((l) => l.id === r.labelId)?.name ?? '?' }),
      r.star && t('rules.doStar'),
      r.markRead && t('rules.doRead'),
      r.folder && t('rules.doFolder', { value: t(`mail.folders.${r.folder}`) }),
    ]
      .filter(Boolean)
      .join(', ')}`;
  return (
    <div className="rules-kind">
      <h3>{t('rules.deviceTitle')}</h3>
      <p className="sub">{t('rules.deviceIntro')}</p>
      {rules && rules.length === 0 && <p>{t('rules.none')}</p>}
      <ul>
        {rules?.map((r, i) => (
          <li key={`${i}-${r.contains}`}>
            <span>{describe(r)}</span>{' '}
            <button type="button" aria-label={t('rules.removeNamed', { what: describe(r) })} onClick={() => void save(rules.filter((_, j) => j !== i))}>
              {t('rules.remove')}
            </button>
          </li>
        ))}
      </ul>
      <form
        aria-label={t('rules.deviceForm')}
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const data = new FormData(form);
          const target = String(data.get('target') ?? '');
          const rule: ContentRule = {
            field: String(data.get('field')) as ContentRule['field'],
            contains: String(data.get('contains')).trim(),
            ...(action === 'label' ? { labelId: target } : action === 'folder' ? { folder: target as NonNullable<ContentRule['folder']> } : action === 'star' ? { star: true } : { markRead: true }),
          };
          void save([...(rules ?? []), rule]).then((ok) => ok && form.reset());
        }}
      >
        <select name="field" aria-label={t('rules.fieldLabel')}>
          <option value="subject">{t('rules.field.subject')}</option>
          <option value="body">{t('rules.field.body')}</option>
          <option value="any">{t('rules.field.any')}</option>
        </select>
        <input name="contains" required maxLength={200} aria-label={t('rules.containsLabel')} placeholder={t('rules.containsPlaceholder')} />
        <select value={action} onChange={(e) => setAction(e.currentTarget.value as typeof action)} aria-label={t('rules.then')}>
          <option value="label">{t('rules.actLabel')}</option>
          <option value="star">{t('rules.actStar')}</option>
          <option value="markRead">{t('rules.actRead')}</option>
          <option value="folder">{t('rules.actFolder')}</option>
        </select>
        {action === 'label' && (
          <select name="target" required aria-label={t('rules.actionValue')}>
            {labels.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        )}
        {action === 'folder' && (
          <select name="target" aria-label={t('rules.actionValue')}>
            {FOLDERS.map((f) => (
              <option key={f} value={f}>
                {t(`mail.folders.${f}`)}
              </option>
            ))}
          </select>
        )}
        <button type="submit">{t('rules.add')}</button>
      </form>
      <button
        type="button"
        className="apply-existing"
        onClick={() => {
          setNote(null);
          void keys({ op: 'contentRulesApply', address }).then(
            (r) => setNote(t('rules.applied', { count: r.changed })),
            (e: unknown) => setProblem(describeError(e)),
          );
        }}
      >
        {t('rules.applyExisting')}
      </button>
      {note && <p role="status">{note}</p>}
      {problem && <p role="alert">{problem}</p>}
    </div>
  );
}
