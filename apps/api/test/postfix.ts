/**
 * A real Postfix on loopback, standing in for an ordinary mail server of the outside world
 * (Debian's package, installed by `.ci/run`): its own configuration and queue under a temporary
 * folder, listening on a free port of 127.0.0.1, STARTTLS with a self-signed certificate (what a
 * stock Postfix shows), final destination for one domain into a Maildir. Runs as root (Postfix's
 * master starts as root and drops to its own user), as CI does.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@sealmail/server';

const run = promisify(execFile);

export interface Postfix {
  port: number;
  /** The raw messages delivered to the Maildir so far. */
  delivered(): Promise<Buffer[]>;
  /** Postfix's own log (maillog_file). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostfix(dir: string, domain: string): Promise<Postfix> {
  const conf = join(dir, 'conf');
  const mail = join(dir, 'mail');
  await mkdir(conf, { recursive: true });
  await mkdir(mail, { recursive: true });
  // The daemons (user postfix, delivery as nobody) must reach their folders under the test's one.
  await chmod(dir, 0o755);
  await chown(mail, 65534, 65534);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(conf, 'key.pem'), '-out', join(conf, 'cert.pem'), '-days', '2', '-subj', `/CN=mx.${domain}`]);
  const port = await freePort();
  await writeFile(
    join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${join(dir, 'queue')}`,
      `data_directory = ${join(dir, 'data')}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      `myhostname = mx.${domain}`,
      'mydestination =',
      'relay_domains =',
      `virtual_mailbox_domains = ${domain}`,
      `virtual_mailbox_base = ${mail}`,
      'virtual_mailbox_maps = static:inbox/',
      'virtual_uid_maps = static:65534',
      'virtual_gid_maps = static:65534',
      `smtpd_tls_cert_file = ${join(conf, 'cert.pem')}`,
      `smtpd_tls_key_file = ${join(conf, 'key.pem')}`,
      'smtpd_tls_security_level = may',
      'smtpd_tls_received_header = yes',
      `maillog_file_prefixes = ${dir}`,
      `maillog_file = ${join(dir, 'maillog')}`,
      'smtputf8_enable = no',
      'biff = no',
      '',
    ].join('\n'),
  );
  // Debian's master.cf, with smtpd on our port and nothing chrooted (no copy of /etc in the queue).
  const master = (await readFile('/etc/postfix/master.cf', 'utf8'))
    .split('\n')
    .map((l) => (/^smtp\s+inet\s/.test(l) ? `127.0.0.1:${port} inet n - n - - smtpd` : l.replace(/^(\S+\s+(?:unix|unix-dgram|fifo|pass|inet)\s+\S+\s+\S+\s+)y(\s)/, '$1n$2')))
    .join('\n');
  await writeFile(join(conf, 'master.cf'), master);
  await mkdir(join(dir, 'queue'), { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  await run('chown', ['postfix', join(dir, 'data')]);
  await run('postfix', ['-c', conf, 'set-permissions', 'create-missing']);
  await run('postfix', ['-c', conf, 'start']);
  // Up when smtpd answers.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`Postfix did not listen on ${port}: ${await readFile(join(dir, 'maillog'), 'utf8').catch(() => '(no log)')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    async delivered() {
      const folder = join(mail, 'inbox', 'new');
      const names = await readdir(folder).catch(() => [] as string[]);
      return Promise.all(names.sort().map((n) => readFile(join(folder, n))));
    },
    log: () => readFile(join(dir, 'maillog'), 'utf8').catch(() => ''),
    async stop() {
      await run('postfix', ['-c', conf, 'stop']).catch(() => undefined);
    },
  };
}

