/**
 * The Sealmail command-line client. `run(argv, io)` is the whole program, so tests drive it
 * in-process; src/main.ts wires it to the real process.
 */
import { exportCommand, importCommand } from './transfer-commands';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { Identity, IdentityError } from '@sealmail/client/identity';
import { CryptoError, fromBase64Url } from '@sealmail/crypto';
import { httpsFetch } from '@sealmail/client/node';
import { clearSession, defaultProfileDir, loadSession, saveSession } from './profile';
import { fileKeyStore, KeyFileError } from './keystore';
import { passwordCommand, sessionsCommand, totpCommand } from './account-commands';
import { CALENDAR_HELP, calendarCommand } from './calendar';
import { addressesCommand, outOfOfficeCommand } from './rules-commands';
import { attachmentsCommand, CommandError, deleteCommand, fileError, fsErrorCode, listCommand, mailErrorLine, moveCommand, readCommand, searchCommand, sendCommand, type MailContext } from './mail-commands';
import { mergeCommand } from './merge-command';
import { discoveryCommand } from './discovery-commands';
import { contactsCommand } from './contacts-commands';
import { emptyTrashCommand, foldersCommand, moveToFolderCommand, restoreCommand } from './organise-commands';
import { forwardCommand, labelsCommand, sendersCommand, spamCommand } from './label-commands';
import { calendarRespondCommand } from './calendar-invite-commands';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Reads one line (the password) from standard input. */
  readLine?: () => Promise<string>;
  /** Reads the rest of standard input (a message body). */
  readRest?: () => Promise<string>;
  /** A status line that replaces the last one (a terminal's stderr only): how far an upload got; null clears it. */
  progress?: (line: string | null) => void;
}

/** Exit codes (sysexits.h where one fits). */
export const EXIT = { ok: 0, failure: 1, usage: 64, unavailable: 69, noperm: 77 } as const;

const HELP = `sealmail — command-line client for Sealmail

Usage: sealmail <command> [options]

Commands:
  status              Check that the server is up and its database reachable
  login <address>     Sign in (password on standard input; --totp <code or recovery code> if you
                      use an authenticator app) and set
                      up this device's keys: the first device prints a backup key to save,
                      another device waits for approval and prints its fingerprint
  whoami              Show the signed-in user and when the session ends
  logout              End the session here and on the server
  devices             List your devices with status and fingerprints
  approve <device>    Approve a pending device (id prefix or fingerprint); shares older keys
  revoke <device>     Revoke a device (or reject a pending one); rotates your per-user key
  recover <address>   On a new device: password, then backup key, on standard input
  safety <address> [NUMBER]
                      Show a user's safety number (compare it with them); with the NUMBER you
                      compared, mark it verified — a later change is flagged (exit 1)
  accept-reset <address>
                      Accept that a correspondent started their key history afresh (after
                      comparing their new safety number); until then nothing is sent to them
  start-afresh <address>
                      No device, backup key or escrow left: start your keys afresh (password on
                      standard input); old mail stays unreadable, correspondents are told
  escrow [accept]     Show escrow and every use of it on your keys; \`accept\` adds the
                      organisation's escrow key to your key history after you were told
  discovery export --user ADDRESS --from DATE --to DATE [--terms a,b] --case REF --out DIR
                      Escrow admins: open a user's mail received in the range through escrow
                      (the case reference is recorded and shown to the user), keep messages with
                      any of the terms, write DIR/messages.mbox and DIR/manifest.json (SHA-256s)
  lookup <address>…   Tell which addresses have a mailbox on the server (signed in)
  contacts list | add --name N --email a,b [--phone P] [--groups g,h] [--notes T]
  contacts import <file.vcf|file.csv> | export [file] [--format vcard|vcard3|csv]
                      Your address book, encrypted on this device (vCard 3.0/4.0, Google CSV);
                      a group name given to send --to becomes its members' addresses
  send --to a,b [--cc ..] [--bcc ..] --subject S [--attach FILE]... [--link 1d|7d|30d | --standard]
                      Seal and send a mail end to end; the body is the rest of standard input
                      (after the passphrase line if the key file is protected). Recipients outside
                      this server get an expiring link (--link) or standard mail (--standard);
                      without either they make the send fail. Exits 1 if any recipient was refused
  forward <id> --to a,b [--cc ..] [--subject S] [--attached] [--link 1d|7d|30d | --standard]
                      Forward a mail (opened here): quoted with its attachments, or --attached as
                      one .eml file (message/rfc822); your text first, from standard input
  merge <template> <csv> [--link 1d|7d|30d | --standard] [--preview]
                      Mail merge: the template file is "Subject: …", a blank line, then the text,
                      with {{column}} placeholders; one individually sealed mail per CSV row (an
                      email column names the recipient); rows with a bad address or a missing
                      field are flagged and not sent. Exits 1 if any row was not sent
  list [--folder F] [--limit N] [--cursor C] [--unread] [--starred]
                      Your mail, newest first (inbox, drafts, sent, outbox, archive, trash, spam);
                      * marks unread, ★ starred
  read <id>           Open a mail (id or its first characters): headers, protection, signature,
                      text and attachments; marks it read
  attachments <id> [--save DIR] [--piece N]
                      List a mail's attachments, or save them into DIR (each only once verified
                      whole; existing files are not replaced)
  search <words> [--limit N]
                      Search your mail on this device: all words, the last also as a prefix
                      (an encrypted index next to the key file, brought up to date first)
  export [--folder F] [--format mbox|eml-zip] <file>
                      Decrypt a folder (default: all mail) here and write it as an mboxrd file
                      (default) or a zip of .eml files; the file holds plaintext: keep it safe
  import [--folder F] <file>
                      Import an mbox, an .eml or a zip of .eml files into a folder (default
                      archive), each message sealed here to you; dates, threads, attachments kept
  move <id> <folder>  Move a mail (inbox, archive, trash, spam, or one of your folders)
  folders [create NAME | rename FOLDER NAME | delete FOLDER]
                      Your folders (names encrypted to you); deleting one moves its mail to inbox
  labels [create NAME | rename LABEL NAME | delete LABEL]
                      Your labels (names encrypted to you); deleting one takes it off every mail
  spam <id> | not-spam <id>
                      Report a mail as spam (to spam) or not spam (to inbox); its sender's later
                      mail follows
  senders [remove ADDRESS]
                      The senders you reported or allowed; remove forgets one
  restore <id>        Put a mail in trash back where it came from
  empty-trash         Delete everything in trash for good
  delete <id>         Move a mail to trash; delete it for good when it is there already
  sessions            Your signed-in sessions: device, address, sign-in and last use, client
  sessions revoke <id> | sessions --all-others
                      Sign out one session (id or its first characters), or every other one
  password            Change your password (current, then the new one twice, on standard
                      input); every other session of yours is signed out
  totp enrol          Set up an authenticator app: shows a QR code and the secret, then reads
                      the app's 6-digit code (standard input or --code); prints 10 recovery codes
  totp remove         Remove it (--code <6 digits>, or the password on standard input)
  totp codes --code N New recovery codes (the old ones stop working)
${CALENDAR_HELP}
  out-of-office [on|off] [--from DATE] [--to DATE] [--subject S]
                      Show or set your automatic reply (the text on standard input with \`on\`);
                      one reply per sender per period, never to lists or automatic mail
  addresses           The addresses you may send from: yours and your aliases
  calendar respond <event> accept|tentative|decline
                      Answer an invitation in your calendar (event id, its first characters, or
                      its exact title); the organizer's event shows it and gets a REPLY mail
  help                Show this text

Options:
  --api <url>         Server base URL (default https://localhost:8443, or the one you logged in to)
  --ca <file>         Trust this CA certificate (default .sealmail/tls/cert.pem when present)
  --profile <dir>     Where the session is kept (default ~/.config/sealmail)
  --timeout <seconds> Give up on a server silent this long (default 120), exit 69
  --totp <code>       Authenticator code (or a recovery code) for login
  --code <code>       Authenticator code for totp enrol/remove/codes
  --all-others        With sessions: sign out every session but this one
  --passphrase        With login or recover: protect this device's key file with a passphrase
                      (the next line of standard input, at least 10 characters). Commands that
                      use a protected key file read the passphrase from standard input.

Exit status: 0 done; 1 failed (the message says what, and for a file which one and why);
64 wrong usage; 69 server unreachable (or, for status, its database); 77 not signed in.
`;

/**
 * A line as it may reach a terminal: text from others (subjects, names, mail text, a server's
 * error message) can carry escape sequences that retitle the window, clear the screen, hide or
 * rewrite lines, or reverse text direction. C0 and C1 controls (tab and line ends kept), a
 * carriage return that does not end a line, and bidirectional overrides and isolates become U+FFFD.
 */
export const terminalSafe = (line: string) => line.replace(/(?![\t\n\r])\p{Cc}|\r(?!\n)|[\u202a-\u202e\u2066-\u2069]/gu, '\ufffd');

export async function run(argv: string[], terminal: Io): Promise<number> {
  // Everything printed goes through terminalSafe; only the QR code of `totp enrol` (drawn here
  // with colour sequences) is written as it is.
  const io: Io = { ...terminal, out: (l) => terminal.out(terminalSafe(l)), err: (l) => terminal.err(terminalSafe(l)) };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        api: { type: 'string' },
        ca: { type: 'string' },
        timeout: { type: 'string' },
        profile: { type: 'string' },
        totp: { type: 'string' },
        passphrase: { type: 'boolean' },
        to: { type: 'string' },
        cc: { type: 'string' },
        bcc: { type: 'string' },
        subject: { type: 'string' },
        attach: { type: 'string', multiple: true },
        attached: { type: 'boolean' },
        standard: { type: 'boolean' },
        preview: { type: 'boolean' },
        link: { type: 'string' },
        folder: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        unread: { type: 'boolean' },
        starred: { type: 'boolean' },
        save: { type: 'string' },
        piece: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        code: { type: 'string' },
        'all-others': { type: 'boolean' },
        user: { type: 'string' },
        from: { type: 'string' },
        terms: { type: 'string' },
        case: { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        email: { type: 'string' },
        phone: { type: 'string' },
        groups: { type: 'string' },
        notes: { type: 'string' },
        format: { type: 'string' },
        // calendar (src/calendar.ts)
        days: { type: 'string' }, title: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, tz: { type: 'string' }, location: { type: 'string' }, calendar: { type: 'string' }, repeat: { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`sealmail: ${(err as Error).message}`);
    return EXIT.usage;
  }
  const [command, ...args] = parsed.positionals;
  if (parsed.values.help || command === 'help' || command === undefined) {
    io.out(HELP);
    return command === undefined && !parsed.values.help ? EXIT.usage : EXIT.ok;
  }
  const caFile = parsed.values.ca ?? (existsSync('.sealmail/tls/cert.pem') ? '.sealmail/tls/cert.pem' : undefined);
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  } catch {
    io.err(`sealmail: cannot read the CA file ${caFile}`);
    return EXIT.usage;
  }
  const timeout = parsed.values.timeout;
  if (timeout !== undefined && !(/^\d+$/.test(timeout) && Number(timeout) >= 1 && Number(timeout) <= 3600)) {
    io.err('sealmail: --timeout takes whole seconds from 1 to 3600');
    return EXIT.usage;
  }
  const fetcher = () => httpsFetch(ca, { idleSeconds: timeout === undefined ? 120 : Number(timeout) });
  const profile = parsed.values.profile ?? defaultProfileDir();
  const stored = await loadSession(profile);
  const baseUrl = (parsed.values.api ?? stored?.api ?? 'https://localhost:8443').replace(/\/$/, '');
  const token = stored && stored.api === baseUrl ? stored.token : undefined;
  const api = new ApiClient({ baseUrl, fetch: fetcher(), ...(token ? { token } : {}) });
  const readLine = async () => (io.readLine ? (await io.readLine()).replace(/\r?\n$/, '') : '');
  /** The key store; a protected key file asks for its passphrase on standard input. */
  const keyStore = (sealWith?: string) => fileKeyStore(profile, { passphrase: readLine, ...(sealWith ? { sealWith } : {}) });
  /** With --passphrase, the next input line protects new key files. */
  async function newPassphrase(): Promise<string | undefined> {
    if (!parsed!.values.passphrase) return undefined;
    const p = await readLine();
    if (p.length < 10) throw new KeyFileError('PASSPHRASE_REQUIRED', 'Give a passphrase of at least 10 characters on the line after the password.');
    return p;
  }
  try {
    // Answering an invitation (calendar-invite-commands.ts); the other calendar commands below.
    if (command === 'calendar' && args[0] === 'respond') {
      await calendarRespondCommand({ api, out: io.out }, args.slice(1));
      return EXIT.ok;
    }
    switch (command) {
      case 'status': {
        const info = await api.info();
        const ready = await api.ready().then(
          () => true,
          () => false,
        );
        io.out(`server    ${baseUrl}`);
        io.out(`version   ${info.version}`);
        io.out(`database  ${ready ? 'ready' : 'UNREACHABLE'}`);
        io.out(`domains   ${info.domains ? info.domains.join(', ') || '(none)' : '(sign in to see your organisation\'s)'}`);
        return ready ? EXIT.ok : EXIT.unavailable;
      }
      case 'login': {
        const address = args[0];
        if (!address || args.length > 1) {
          io.err('sealmail login: name one address');
          return EXIT.usage;
        }
        const password = io.readLine ? (await io.readLine()).replace(/\r?\n$/, '') : '';
        if (!password) {
          io.err('sealmail login: give the password on standard input');
          return EXIT.usage;
        }
        const { token: newToken, session } = await api.signIn(address, password, parsed.values.totp);
        await saveSession(profile, { api: baseUrl, address: session.user.address, displayName: session.user.displayName, token: newToken, expiresAt: session.expiresAt });
        io.out(`signed in as ${session.user.address} (${session.user.role}); session ends ${session.expiresAt}`);
        if (session.passwordChangeRequired) {
          io.out('your administrator reset your password: choose a new one with `sealmail password` first, then log in again');
          return EXIT.ok;
        }
        if (session.totpEnrollmentRequired) {
          io.out('your organisation requires an authenticator app: set one up with `sealmail totp enrol`, then log in again');
          return EXIT.ok;
        }
        const identity = new Identity(new ApiClient({ baseUrl, fetch: fetcher(), token: newToken }), keyStore(await newPassphrase()));
        const setup = await identity.setUpThisDevice({ address: session.user.address, name: `CLI on ${hostname()}`, kind: 'cli' });
        if (setup.outcome === 'first') {
          io.out('this is your first device. Your BACKUP KEY (write it down; it recovers everything if you lose all devices):');
          io.out(`  ${setup.backupKey}`);
        } else if (setup.outcome === 'pending') {
          io.out(`this device waits for approval by one of your devices; compare its fingerprint there: ${setup.fingerprint}`);
        }
        if (setup.outcome !== 'pending') {
          // Escrow on for the account: the user is told first, and adds it with `sealmail escrow accept`.
          const escrow = await identity.escrowStatus(session.user.address);
          if (escrow.state === 'needs-consent') {
            io.out(`NOTICE: your organisation turned on escrow (endorsed by ${escrow.endorsedBy}; key fingerprint ${escrow.fingerprint}).`);
            io.out('  Once added, escrow administrators can restore your mail on a new device and decrypt it for legal discovery; every use is recorded and shown to you.');
            io.out('  Compare the fingerprint with your administrator, then run `sealmail escrow accept` to add it to your key history.');
          }
        }
        return EXIT.ok;
      }
      case 'devices': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        for (const d of await new Identity(api, keyStore()).devices(me)) {
          io.out(`${d.id.slice(0, 12)}  ${d.status.padEnd(8)}  ${d.kind.padEnd(7)}  ${d.fingerprint}  ${d.name}${d.thisDevice ? '  (this device)' : ''}`);
        }
        return EXIT.ok;
      }
      case 'approve':
      case 'revoke': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        if (args.length !== 1) {
          io.err(`sealmail ${command}: name one device (id prefix or fingerprint)`);
          return EXIT.usage;
        }
        const identity = new Identity(api, keyStore());
        if (command === 'approve') {
          const d = await identity.approve(me, args[0]!);
          io.out(`approved ${d.name} (${d.fingerprint}); it can now read your older mail`);
        } else {
          await identity.revoke(me, args[0]!);
          io.out('revoked; your per-user key was rotated among the remaining devices');
        }
        return EXIT.ok;
      }
      case 'recover': {
        const address = args[0];
        if (!address || !io.readLine) {
          io.err('sealmail recover: name your address; give the password, then the backup key, on standard input');
          return EXIT.usage;
        }
        const password = (await io.readLine()).trim();
        const backupKey = (await io.readLine()).trim();
        const sealWith = await newPassphrase();
        const { token: newToken, session } = await api.signIn(address, password, parsed.values.totp);
        await saveSession(profile, { api: baseUrl, address: session.user.address, displayName: session.user.displayName, token: newToken, expiresAt: session.expiresAt });
        const identity = new Identity(new ApiClient({ baseUrl, fetch: fetcher(), token: newToken }), keyStore(sealWith));
        await identity.recover({ address: session.user.address, name: `CLI on ${hostname()}`, kind: 'cli', backupKey });
        io.out(`recovered: this device is approved by your backup key and can read all your mail`);
        return EXIT.ok;
      }
      case 'escrow': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        const identity = new Identity(api, keyStore());
        if (args[0] === 'accept' && args.length === 1) {
          const { fingerprint } = await identity.acceptEscrow(me);
          io.out(`escrow key ${fingerprint} added to your key history`);
          return EXIT.ok;
        }
        if (args.length === 0) {
          const st = await identity.escrowStatus(me);
          io.out(st.state === 'off' ? 'escrow is off' : st.state === 'in-chain' ? `escrow is on; its key ${st.fingerprint} is in your key history` : st.state === 'needs-consent' ? `escrow is on (endorsed by ${st.endorsedBy}, key ${st.fingerprint}); run \`sealmail escrow accept\` to add it` : 'escrow is on; this device is not approved yet');
          for (const o of (await api.escrowOpenings()).openings) io.out(`  ${o.at}  ${o.purpose.padEnd(15)}  ${o.by ?? '(removed user)'}${o.caseRef ? `  case "${o.caseRef}" (${o.range?.from ?? '?'} – ${o.range?.to ?? '?'})` : ''}`);
          return EXIT.ok;
        }
        io.err('sealmail escrow: `sealmail escrow` shows it, `sealmail escrow accept` adds it');
        return EXIT.usage;
      }
      case 'start-afresh': {
        const address = args[0];
        if (!address || args.length > 1 || !io.readLine) {
          io.err('sealmail start-afresh: name your address; give your password on standard input. Only for a user with no device, backup key or escrow left: old mail stays unreadable for good');
          return EXIT.usage;
        }
        const password = (await io.readLine()).replace(/\r?\n$/, '');
        const sealWith = await newPassphrase();
        const { token: newToken, session } = await api.signIn(address, password, parsed.values.totp);
        await saveSession(profile, { api: baseUrl, address: session.user.address, displayName: session.user.displayName, token: newToken, expiresAt: session.expiresAt });
        const identity = new Identity(new ApiClient({ baseUrl, fetch: fetcher(), token: newToken }), keyStore(sealWith));
        const setup = await identity.startAfresh({ address: session.user.address, password, ...(parsed.values.totp ? { totp: parsed.values.totp } : {}), name: `CLI on ${hostname()}`, kind: 'cli' });
        io.out('your key history starts afresh; your correspondents are told. Your new BACKUP KEY (write it down):');
        if (setup.outcome === 'first') io.out(`  ${setup.backupKey}`);
        return EXIT.ok;
      }
      case 'accept-reset': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        if (args.length !== 1) {
          io.err('sealmail accept-reset: name the address whose new keys you accept (compare their safety number with them first)');
          return EXIT.usage;
        }
        const identity = new Identity(api, keyStore());
        await identity.acceptReset(args[0]!);
        const view = await identity.safetyNumber(args[0]!);
        io.out(`accepted ${view.address}'s new key history; safety number ${view.number}`);
        return EXIT.ok;
      }
      case 'safety': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        if (args.length < 1 || args.length > 2) {
          io.err('sealmail safety: name one address (and, to mark it verified, the number you compared: --verified "NNNN NNNN …")');
          return EXIT.usage;
        }
        const identity = new Identity(api, keyStore());
        const address = args[0]!;
        const view = args[1] ? await identity.markVerified(address, args[1]) : await identity.safetyNumber(address);
        io.out(`${view.address}  ${view.number}  ${view.verified ? 'verified' : view.changedSinceVerified ? 'CHANGED since you verified it' : 'not verified'}`);
        return view.changedSinceVerified ? EXIT.failure : EXIT.ok;
      }
      case 'whoami': {
        const s = await api.session();
        io.out(`${s.user.address}\t${s.user.role}\tidle until ${s.idleExpiresAt}\tends ${s.expiresAt}`);
        return EXIT.ok;
      }
      case 'logout': {
        if (token) await api.signOut().catch(() => undefined);
        await clearSession(profile);
        io.out('signed out');
        return EXIT.ok;
      }
      case 'sessions':
        await sessionsCommand({ api, out: io.out, readLine }, args, !!parsed.values['all-others']);
        return EXIT.ok;
      case 'password':
        await passwordCommand({ api, out: io.out, readLine });
        return EXIT.ok;
      case 'out-of-office':
        await outOfOfficeCommand({ api, out: io.out, readRest: async () => (io.readRest ? io.readRest() : readLine()) }, args, { ...(parsed.values.from ? { from: parsed.values.from } : {}), ...(parsed.values.to ? { to: parsed.values.to } : {}), ...(parsed.values.subject ? { subject: parsed.values.subject } : {}) });
        return EXIT.ok;
      case 'addresses':
        await addressesCommand({ api, out: io.out, readRest: async () => '' });
        return EXIT.ok;
      case 'totp':
        await totpCommand({ api, out: io.out, qr: terminal.out, readLine }, args, parsed.values.code);
        return EXIT.ok;
      case 'discovery': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        const v = parsed.values;
        await discoveryCommand({ api, identity: new Identity(api, keyStore()), address: me, out: io.out }, args, { ...(v.user ? { user: v.user } : {}), ...(v.from ? { from: v.from } : {}), ...(v.to ? { to: v.to } : {}), ...(v.terms ? { terms: v.terms } : {}), ...(v.case ? { case: v.case } : {}), ...(v.out ? { out: v.out } : {}) });
        return EXIT.ok;
      }
      case 'contacts': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        const v = parsed.values;
        await contactsCommand({ api, identity: new Identity(api, keyStore()), address: me, io }, args, { ...(v.name !== undefined ? { name: v.name } : {}), ...(v.email ? { email: v.email } : {}), ...(v.phone ? { phone: v.phone } : {}), ...(v.groups ? { groups: v.groups } : {}), ...(v.notes !== undefined ? { notes: v.notes } : {}), ...(v.format ? { format: v.format } : {}) });
        return EXIT.ok;
      }
      case 'calendar': {
        const v = parsed.values;
        await calendarCommand({ api, out: io.out }, args, { days: v.days, title: v.title, start: v.start, end: v.end, tz: v.tz, location: v.location, calendar: v.calendar, repeat: v.repeat });
        return EXIT.ok;
      }
      case 'lookup': {
        if (args.length === 0) {
          io.err('sealmail lookup: name at least one address');
          return EXIT.usage;
        }
        const { results } = await api.lookup(args);
        for (const r of results) io.out(`${r.address}\t${r.exists ? 'has a mailbox here' : 'no mailbox here'}`);
        return results.every((r) => r.exists) ? EXIT.ok : EXIT.failure;
      }
      case 'send':
      case 'forward':
      case 'merge':
      case 'list':
      case 'read':
      case 'attachments':
      case 'move':
      case 'folders':
      case 'labels':
      case 'spam':
      case 'not-spam':
      case 'senders':
      case 'restore':
      case 'empty-trash':
      case 'delete':
      case 'export':
      case 'import':
      case 'search': {
        const me = stored?.address;
        if (!me) throw new ApiClientError(401, 'UNAUTHENTICATED', 'Sign in first.');
        const store = keyStore();
        const ctx: MailContext = {
          api,
          identity: new Identity(api, store),
          address: me,
          displayName: async () => stored?.displayName ?? (await api.session()).user.displayName,
          profile,
          io,
          readBody: async () => (io.readRest ? io.readRest() : readLine()),
          deviceSecret: async () => {
            const d = await store.loadDevice(me);
            if (!d) throw new IdentityError('NO_DEVICE', 'This device has no keys yet: sign in first.');
            return fromBase64Url(d.encryptionSeed);
          },
        };
        const v = parsed.values;
        const needsId = command === 'read' || command === 'attachments' || command === 'delete' || command === 'restore' || command === 'spam' || command === 'not-spam' || command === 'forward';
        if ((command === 'export' || command === 'import') && args.length !== 1) {
          io.err(`sealmail ${command}: name one file`);
          return EXIT.usage;
        }
        if (command === 'merge' && args.length !== 2) {
          io.err('sealmail merge: name the template file and the CSV file');
          return EXIT.usage;
        }
        if ((needsId && args.length !== 1) || (command === 'search' && args.length === 0) || (command === 'move' && args.length !== 2)) {
          io.err(`sealmail ${command}: ${command === 'move' ? 'name one mail id and a folder' : needsId ? 'name one mail id' : 'give the words to search for'}`);
          return EXIT.usage;
        }
        // Unlock the key file first: a protected one takes its passphrase from the first input
        // line (before a body), and a wrong one is refused here rather than showing every mail as
        // undecryptable.
        await ctx.deviceSecret();
        if (command === 'send') {
          const everyone = await sendCommand(ctx, { ...(v.to ? { to: v.to } : {}), ...(v.cc ? { cc: v.cc } : {}), ...(v.bcc ? { bcc: v.bcc } : {}), ...(v.subject ? { subject: v.subject } : {}), ...(v.attach ? { attach: v.attach } : {}), ...(v.standard ? { standard: true } : {}), ...(v.link !== undefined ? { link: v.link } : {}) });
          return everyone ? EXIT.ok : EXIT.failure;
        } else if (command === 'forward') {
          const everyone = await forwardCommand(ctx, args[0]!, { ...(v.to ? { to: v.to } : {}), ...(v.cc ? { cc: v.cc } : {}), ...(v.subject ? { subject: v.subject } : {}), ...(v.standard ? { standard: true } : {}), ...(v.link !== undefined ? { link: v.link } : {}), attached: !!v.attached });
          return everyone ? EXIT.ok : EXIT.failure;
        } else if (command === 'merge') {
          return (await mergeCommand(ctx, args[0]!, args[1]!, { ...(v.standard ? { standard: true } : {}), ...(v.link !== undefined ? { link: v.link } : {}), preview: !!v.preview })) ? EXIT.ok : EXIT.failure;
        } else if (command === 'list') await listCommand(ctx, { ...(v.folder ? { folder: v.folder } : {}), ...(v.limit ? { limit: v.limit } : {}), ...(v.cursor ? { cursor: v.cursor } : {}), unread: !!v.unread, starred: !!v.starred });
        else if (command === 'read') await readCommand(ctx, args[0]!);
        else if (command === 'export') await exportCommand(ctx, args[0]!, { ...(v.folder ? { folder: v.folder } : {}), ...(v.format ? { format: v.format } : {}) });
        else if (command === 'import') return (await importCommand(ctx, args[0]!, { ...(v.folder ? { folder: v.folder } : {}) })) ? EXIT.ok : EXIT.failure;
        else if (command === 'move') await (['inbox', 'drafts', 'sent', 'outbox', 'archive', 'trash', 'spam'].includes(args[1]!) ? moveCommand(ctx, args[0]!, args[1]!) : moveToFolderCommand(ctx, args[0]!, args[1]!));
        else if (command === 'folders') await foldersCommand(ctx, args);
        else if (command === 'labels') await labelsCommand(ctx, args);
        else if (command === 'spam' || command === 'not-spam') await spamCommand(ctx, args[0]!, command);
        else if (command === 'senders') await sendersCommand(ctx, args);
        else if (command === 'restore') await restoreCommand(ctx, args[0]!);
        else if (command === 'empty-trash') await emptyTrashCommand(ctx);
        else if (command === 'delete') await deleteCommand(ctx, args[0]!);
        else if (command === 'attachments') await attachmentsCommand(ctx, args[0]!, { ...(v.save ? { save: v.save } : {}), ...(v.piece ? { piece: v.piece } : {}) });
        else await searchCommand(ctx, args.join(' '), { ...(v.limit ? { limit: v.limit } : {}) });
        return EXIT.ok;
      }
      default:
        io.err(`sealmail: unknown command "${command}" (try: sealmail help)`);
        return EXIT.usage;
    }
  } catch (err) {
    if (err instanceof CommandError) {
      io.err(`sealmail ${command}: ${err.message}`);
      return err.exit === 'usage' ? EXIT.usage : EXIT.failure;
    }
    const mailLine = mailErrorLine(err);
    if (mailLine) {
      io.err(`sealmail: ${mailLine}`);
      return EXIT.failure;
    }
    if (err instanceof IdentityError || err instanceof KeyFileError || (err instanceof CryptoError && !(err instanceof ApiClientError))) {
      io.err(`sealmail: ${err.message} [${err.code}]`);
      return EXIT.failure;
    }
    if (err instanceof ApiClientError) {
      io.err(`sealmail: ${err.message}${err.field ? ` (${err.field})` : ''} [${err.code}]`);
      if (err.code === 'UNAUTHENTICATED') io.err('sealmail: sign in with `sealmail login <address>`');
      return err.code === 'NETWORK' ? EXIT.unavailable : err.code === 'UNAUTHENTICATED' ? EXIT.noperm : EXIT.failure;
    }
    // A file the command could not read or write that no command named (a full disk, a
    // profile directory that is not writable): one line with the path, not a stack trace.
    if (fsErrorCode(err)) {
      const e = err as NodeJS.ErrnoException;
      io.err(`sealmail ${command}: ${(fileError(err, 'use', e.path ?? (e as { dest?: string }).dest ?? 'a file') as Error).message}`);
      return EXIT.failure;
    }
    throw err;
  }
}
