/**
 * Mail loops through addresses that relay (docs/mail.md "Loops"). A list's copy to its outside
 * members and a filter's forward go out from the relaying address; each such copy carries one
 * `X-Sealmail-Loop: <relaying address>` field for every address it was relayed through, kept from
 * the message it came from. A message that comes back to an address it was already relayed
 * through is delivered there but not relayed again, and one that names MAX_LOOP_MARKS relays is
 * relayed no further: two organisations' lists that name each other, or a mailbox forwarding to a
 * host that forwards back, stop after one round instead of looping for ever.
 */

/** Relays one message may pass through before it is relayed no further. */
export const MAX_LOOP_MARKS = 10;

export const LOOP_HEADER = 'X-Sealmail-Loop';

/** The relaying addresses named in a header section (lowercased, in order; at most MAX_LOOP_MARKS + 1). */
export function loopMarksIn(headerSection: string): string[] {
  const unfolded = headerSection.replace(/\r?\n[ \t]+/g, ' ');
  const marks: string[] = [];
  for (const m of unfolded.matchAll(/^x-sealmail-loop:[ \t]*([^\r\n]*)$/gim)) {
    const v = m[1]!.trim().toLowerCase();
    if (v) marks.push(v);
    if (marks.length > MAX_LOOP_MARKS) break;
  }
  return marks;
}

/** The header section of a raw message (up to the first empty line, at most 256 KiB read). */
export function headerSectionOf(raw: Uint8Array): string {
  const text = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.length, 256 * 1024)).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

/** The relaying addresses a parsed message names (mailparser's header lines). */
export function loopMarksOf(headerLines: readonly { key: string; line: string }[]): string[] {
  return loopMarksIn(headerLines.filter((h) => h.key === 'x-sealmail-loop').map((h) => h.line).join('\r\n'));
}

/** True when a copy relayed from `sender` would go round again: it came through there already, or through too many relays. */
export function wouldLoop(marks: readonly string[], sender: string): boolean {
  return marks.length >= MAX_LOOP_MARKS || marks.includes(sender.trim().toLowerCase());
}

/** The fields a copy relayed from `sender` carries: every earlier relay, then this one. */
export function loopFields(marks: readonly string[], sender: string): [string, string][] {
  return [...marks, sender.trim().toLowerCase()].map((m) => [LOOP_HEADER, m]);
}
