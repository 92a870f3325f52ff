import { ApiClient } from '@sealmail/client';
import { blockAdd, blockList, blockRemove } from '@sealmail/contract';
import { useBlockList, useTranslation } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
/** Blocks a sender for the signed-in user's mailbox (mail from it is refused by the server). */
export const blockSender = (pattern: string) => api.request(blockAdd, { body: { pattern } });
const calls = {
  list: () => api.request(blockList, {}).then((r) => r.blocked),
  add: blockSender,
  remove: (id: string) => api.request(blockRemove, { params: { id } }),
};

/** Settings: the senders this user blocked (an address, or a whole domain), with Unblock. */
export function BlockedSenders() {
  const { t } = useTranslation();
  const { entries, problem, add, remove } = useBlockList(calls);
  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    if (await add(String(new FormData(form).get('pattern')))) form.reset();
  }

  return (
    <section aria-label={t('blocked.title')} className="blocked">
      <h2>{t('blocked.title')}</h2>
      <p className="sub">{t('blocked.intro')}</p>
      {entries && entries.length === 0 && <p>{t('blocked.none')}</p>}
      <ul>
        {entries?.map((b) => (
          <li key={b.id}>
            <span>{b.kind === 'domain' ? t('blocked.domain', { domain: b.pattern }) : b.pattern}</span>{' '}
            <button type="button" onClick={() => void remove(b.id)} aria-label={t('blocked.unblockName', { pattern: b.pattern })}>
              {t('blocked.unblock')}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void submit(e)} aria-label={t('blocked.form')}>
        <input name="pattern" placeholder={t('blocked.placeholder')} required aria-label={t('blocked.field')} />
        <button type="submit">{t('blocked.block')}</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
