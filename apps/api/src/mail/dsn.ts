/**
 * Delivery status notifications (RFC 3464): the report a sender gets when the relay gives up on
 * an outside recipient (a 5xx answer, the queue lifetime passed, or an admin cancelled it). A
 * multipart/report with a human-readable part, a message/delivery-status part with one block per
 * recipient, and the original message's headers (text/rfc822-headers). The report is delivered
 * into the sender's own mailbox like inbound mail (sealed to the sender's key by the server).
 */
import { randomUUID } from 'node:crypto';

export interface DsnRecipient {
  address: string;
  /** RFC 3463 status, e.g. 5.1.1 (a remote's own enhanced code when it gave one). */
  status: string;
  /** What happened, as a diagnostic: `smtp; 550 5.1.1 No such user` or `x-sealmail; …`. */
  diagnostic: string;
  remoteMta?: string;
  lastAttempt: Date;
}

export interface DsnInput {
  reportingMta: string;
  sender: string;
  arrivalDate: Date;
  recipients: readonly DsnRecipient[];
  /** The original message's header block (CRLF line ends), without its body. */
  originalHeaders: string;
  now: Date;
}

/** The enhanced status code a reply carries (`550 5.1.1 …`), else a generic one for its class. */
export function statusOfReply(code: number | undefined, text: string): string {
  const m = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  if (m && code !== undefined && m[1] === String(code)[0]) return `${m[1]}.${m[2]}.${m[3]}`;
  if (m && code === undefined) return `${m[1]}.${m[2]}.${m[3]}`;
  return code !== undefined && code >= 500 ? '5.0.0' : '4.0.0';
}

/** RFC 5322 date-time. */
const rfcDate = (d: Date) => d.toUTCString().replace('GMT', '+0000');
/** One header field value on one line: no CR/LF smuggled in from a remote's reply text. */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 900);

/** Builds the report as MIME bytes (CRLF line ends). */
export function buildDsn(input: DsnInput): Buffer {
  const boundary = `sealmail-dsn-${randomUUID()}`;
  const lines: string[] = [];
  const human = [
    `This is the mail system at ${input.reportingMta}.`,
    '',
    'Your message could not be delivered to the following recipient(s):',
    '',
    ...input.recipients.flatMap((r) => [`  <${r.address}>: ${oneLine(r.diagnostic.replace(/^[a-z0-9-]+;\s*/i, ''))}`]),
    '',
    'The original message headers are attached. Nothing else of the message is kept by this server.',
  ];
  lines.push(
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.sender}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfcDate(input.now)}`,
    `Message-ID: <${randomUUID()}@${input.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'Content-Description: Notification',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    // Kept as a part of its own by parsers that would otherwise fold it into the text.
    'Content-Disposition: attachment; filename="delivery-status.txt"',
    '',
    `Reporting-MTA: dns; ${input.reportingMta}`,
    `Arrival-Date: ${rfcDate(input.arrivalDate)}`,
  );
  for (const r of input.recipients) {
    lines.push('', `Final-Recipient: rfc822; ${r.address}`, 'Action: failed', `Status: ${r.status}`);
    if (r.remoteMta) lines.push(`Remote-MTA: dns; ${r.remoteMta}`);
    lines.push(`Diagnostic-Code: ${oneLine(r.diagnostic)}`, `Last-Attempt-Date: ${rfcDate(r.lastAttempt)}`);
  }
  lines.push('', `--${boundary}`, 'Content-Type: text/rfc822-headers', 'Content-Description: Undelivered message headers', 'Content-Disposition: attachment; filename="original-headers.txt"', '', input.originalHeaders.replace(/(\r?\n)+$/, ''), '', `--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
