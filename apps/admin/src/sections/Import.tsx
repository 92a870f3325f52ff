import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminImportContacts, adminImportGroups, adminImportList, importLimits, isErrorBody, type ImportFormat, type MailImportView } from '@sealmail/contract';

import { problemText } from '../problem';
import './Import.css';

const api = new ApiClient({ baseUrl: '' });
/** A refused field is named by its label (problem.ts), never by the request's path. */
const messageOf = (err: unknown) => problemText(err, {}, 'The import failed.');

/** The format a file's name says (Takeout gives .mbox, or a .zip holding them). */
function formatOf(name: string): ImportFormat | null {
  const n = name.toLowerCase();
  if (n.endsWith('.mbox') || n.endsWith('.mbx')) return 'mbox';
  if (n.endsWith('.zip')) return 'zip';
  if (n.endsWith('.eml')) return 'eml';
  return null;
}

const size = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.max(1, Math.round(n / 1024))} KiB`);

/**
 * Sends the file itself (streamed by the browser from disk) with upload progress; the session
 * cookie authenticates it like every console request.
 */
function uploadMail(query: URLSearchParams, file: File, onProgress: (sent: number) => void): Promise<MailImportView> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/admin/imports/mail?${query.toString()}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onerror = () => reject(new Error('The upload was interrupted; check the connection and try again.'));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        return reject(new Error(`The server answered HTTP ${xhr.status}.`));
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as MailImportView);
      reject(isErrorBody(body) ? new ApiClientError(xhr.status, body.error.code, body.error.message, body.error.field) : new Error(`The server answered HTTP ${xhr.status}.`));
    };
    xhr.send(file);
  });
}

function Progress({ imp }: { imp: MailImportView }) {
  const total = imp.total ?? 0;
  const label = imp.status === 'queued' ? 'Waiting to start' : imp.total === null ? 'Counting messages…' : `${imp.processed} of ${total} messages`;
  return (
    <div className="import-progress">
      <progress max={total || 1} value={imp.total === null ? undefined : imp.processed} aria-label={`Progress of ${imp.fileName}`} />
      <span>{label}</span>
    </div>
  );
}

function ImportRow({ imp }: { imp: MailImportView }) {
  const status = { uploading: 'Uploading', queued: 'Queued', running: 'Importing', done: 'Done', failed: 'Stopped' }[imp.status];
  return (
    <tr>
      <td>
        <strong>{imp.fileName}</strong>
        <br />
        {imp.address} · {size(imp.size)}
      </td>
      <td>
        {status}
        {imp.status === 'running' || imp.status === 'queued' ? <Progress imp={imp} /> : null}
        {imp.error ? <p className="import-error">{imp.error}</p> : null}
      </td>
      <td>
        {imp.imported} imported, {imp.duplicates} already there, {imp.failed} failed
        {imp.failures.length ? (
          <details>
            <summary>Why {imp.failed === 1 ? 'one message' : `${imp.failed} messages`} failed</summary>
            <ul>
              {imp.failures.map((f) => (
                <li key={f.index}>
                  {f.reason}
                  {f.messageId ? ` (Message-ID ${f.messageId})` : ''}
                </li>
              ))}
            </ul>
            {imp.failed > imp.failures.length ? <p>The first {imp.failures.length} are shown.</p> : null}
          </details>
        ) : null}
      </td>
    </tr>
  );
}

/** Mail: an mbox, a zip of .eml (or .mbox) files, or one .eml, into a user's mailbox. */
function MailImport() {
  const [imports, setImports] = useState<MailImportView[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [sent, setSent] = useState<{ done: number; of: number } | null>(null);
  const reload = useCallback(() => void api.request(adminImportList, {}).then((r) => setImports(r.imports), (err: unknown) => setProblem(messageOf(err))), []);
  useEffect(reload, [reload]);
  // While an import runs, its progress is asked for every two seconds.
  const active = imports?.some((i) => i.status === 'queued' || i.status === 'running' || i.status === 'uploading');
  useEffect(() => {
    if (!active) return;
    const t = setInterval(reload, 2000);
    return () => clearInterval(t);
  }, [active, reload]);
  const fileInput = useRef<HTMLInputElement>(null);

  async function start(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const file = fileInput.current?.files?.[0];
    setProblem(null);
    if (!file) return setProblem('Choose the file to import.');
    const format = formatOf(file.name);
    if (!format) return setProblem('Choose an .mbox file (Google Takeout), a .zip of .eml or .mbox files, or one .eml file.');
    if (file.size > importLimits.uploadBytes) return setProblem(`The file is larger than ${size(importLimits.uploadBytes)}; split it and import the parts.`);
    const query = new URLSearchParams({ address: String(f.get('address')).trim(), format, fileName: file.name, folder: String(f.get('folder')) });
    setSent({ done: 0, of: file.size });
    try {
      await uploadMail(query, file, (done) => setSent({ done, of: file.size }));
      form.reset();
      reload();
    } catch (err) {
      setProblem(messageOf(err));
    } finally {
      setSent(null);
    }
  }

  return (
    <section aria-label="Import mail">
      <h2>Mail</h2>
      <p>
        Import a user’s mail from an <strong>mbox</strong> file (Google Takeout’s “Mail” export, or its .zip as downloaded), a <strong>.zip of .eml files</strong> (zip the folder), or one <strong>.eml</strong>. Each message is sealed to the user’s key as it is
        stored, keeps its date, and lands in the folder its Gmail labels name. Importing the same file again adds nothing twice.
      </p>
      <form aria-label="Import mail" onSubmit={(e) => void start(e)}>
        <label>
          User’s address
          <input name="address" type="email" required autoComplete="off" placeholder="name@your-domain" />
        </label>
        <label>
          File
          <input ref={fileInput} name="file" type="file" required accept=".mbox,.mbx,.zip,.eml,application/mbox,application/zip,message/rfc822" />
        </label>
        <label>
          Messages without Gmail labels go to
          <select name="folder" defaultValue="inbox">
            <option value="inbox">Inbox</option>
            <option value="archive">Archive</option>
          </select>
        </label>
        <button type="submit" disabled={sent !== null}>
          {sent ? 'Uploading…' : 'Upload and import'}
        </button>
        {sent ? <progress max={sent.of} value={sent.done} aria-label="Upload progress" /> : null}
      </form>
      {problem ? (
        <p role="alert" className="import-error">
          {problem}
        </p>
      ) : null}
      <h3>Imports</h3>
      {imports?.length === 0 ? <p>No imports yet.</p> : null}
      {imports?.length ? (
        <table className="imports">
          <thead>
            <tr>
              <th>File</th>
              <th>Status</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {imports.map((i) => (
              <ImportRow key={i.id} imp={i} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

async function csvOf(input: HTMLInputElement | null): Promise<string | null> {
  const file = input?.files?.[0];
  if (!file) return null;
  if (file.size > importLimits.csvChars) throw new Error(`The CSV is larger than ${size(importLimits.csvChars)}.`);
  return file.text();
}

/**
 * A form that uploads one CSV file: `run` gets the file's text and the form's fields; the result
 * or the problem (naming what to fix) is kept for the section to show.
 */
function useCsvImport<T>(run: (csv: string, form: FormData) => Promise<T>) {
  const [result, setResult] = useState<T | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setProblem(null);
    setResult(null);
    try {
      const csv = await csvOf(fileInput.current);
      if (!csv) return setProblem('Choose the CSV file.');
      setResult(await run(csv, f));
    } catch (err) {
      setProblem(messageOf(err));
    }
  }
  const problemView = problem ? (
    <p role="alert" className="import-error">
      {problem}
    </p>
  ) : null;
  return { result, problemView, fileInput, submit };
}

/** Google Groups' member exports into mailing lists. */
function GroupsImport() {
  const { result, problemView, fileInput, submit } = useCsvImport(async (csv, f) => {
    const listAddress = String(f.get('listAddress')).trim();
    const listName = String(f.get('listName')).trim();
    return api.call(adminImportGroups, { csv, ...(listAddress ? { listAddress } : {}), ...(listName ? { listName } : {}) });
  });
  return (
    <section aria-label="Import Google Groups">
      <h2>Google Groups</h2>
      <p>A group’s member export (Google Groups, “Export members”) or the Admin console’s member list becomes a mailing list here, made if it does not exist. Members already on the list are not added again.</p>
      <form aria-label="Import Google Groups" onSubmit={(e) => void submit(e)}>
        <label>
          Members CSV
          <input ref={fileInput} name="file" type="file" required accept=".csv,text/csv" />
        </label>
        <label>
          List address (when the file does not name the group, or the group’s address is not on your domains)
          <input name="listAddress" type="email" autoComplete="off" />
        </label>
        <label>
          Name for a new list (optional)
          <input name="listName" autoComplete="off" maxLength={100} />
        </label>
        <button type="submit">Import members</button>
      </form>
      {problemView}
      {result ? (
        <div role="status">
          <ul>
            {result.lists.map((l) => (
              <li key={l.address}>
                {l.address}: {l.created ? 'list made, ' : ''}
                {l.added} added, {l.alreadyMembers} already members
              </li>
            ))}
          </ul>
          {result.skipped.length ? (
            <details>
              <summary>{result.skipped.length} rows skipped</summary>
              <ul>
                {result.skipped.map((s) => (
                  <li key={s.row}>
                    Row {s.row}: {s.reason}
                  </li>
                ))}
              </ul>
            </details>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

/** A Google Contacts CSV, held sealed for the user's address book. */
function ContactsImport() {
  const { result, problemView, fileInput, submit } = useCsvImport(async (csv, f) => {
    const address = String(f.get('address')).trim();
    const r = await api.call(adminImportContacts, { address, csv });
    return `${r.contacts} contacts held for ${address}, sealed to ${r.sealedTo === 'user' ? 'their key' : 'the server’s key until they set up a device'}${r.skipped.length ? `; ${r.skipped.length} empty rows skipped` : ''}.`;
  });
  return (
    <section aria-label="Import Google Contacts">
      <h2>Google Contacts</h2>
      <p>A Google Contacts export (“Google CSV”) is read and held sealed for the user; their address book picks it up when it arrives in Sealmail.</p>
      <form aria-label="Import Google Contacts" onSubmit={(e) => void submit(e)}>
        <label>
          User’s address
          <input name="address" type="email" required autoComplete="off" />
        </label>
        <label>
          Contacts CSV
          <input ref={fileInput} name="file" type="file" required accept=".csv,text/csv" />
        </label>
        <button type="submit">Import contacts</button>
      </form>
      {problemView}
      {result ? <p role="status">{result}</p> : null}
    </section>
  );
}

/** Import: mail, Google Groups and Google Contacts from another provider. */
export function Import() {
  return (
    <>
      <MailImport />
      <GroupsImport />
      <ContactsImport />
    </>
  );
}
