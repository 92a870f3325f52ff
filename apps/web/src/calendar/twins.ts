/**
 * Invitations usually carry their iCalendar twice: as the `text/calendar` alternative of the body
 * (RFC 6047, what calendar programs read; nodemailer's `icalEvent` and Google's and Outlook's
 * invitations do this) and as an attached `.ics` file of the same bytes. The reader lists the
 * file once: the unnamed alternative is shown by the invitation card, not as a second attachment —
 * but only when its bytes are the file's. A sender who makes the two differ (the card would show
 * one event, the file hold another) has both listed.
 */
interface Part {
  piece: number;
  filename: string;
  contentType: string;
  size: number;
}

const isCalendar = (a: Part) => /^(text\/calendar|application\/ics)$/i.test(a.contentType) || /\.ics$/i.test(a.filename);

/** Each unnamed calendar alternative of `parts` with the named `.ics` files of its size beside it (candidates, not yet compared). */
export function calendarTwinCandidates(parts: readonly Part[]): Map<number, number[]> {
  const named = parts.filter((a) => isCalendar(a) && /\.ics$/i.test(a.filename));
  const out = new Map<number, number[]>();
  // An unnamed part comes out of the server's parse as "attachment" (deliver-local.ts).
  for (const a of parts) {
    if (a.contentType.toLowerCase() !== 'text/calendar' || a.filename !== 'attachment') continue;
    const twins = named.filter((n) => n.piece !== a.piece && n.size === a.size).map((n) => n.piece);
    if (twins.length) out.set(a.piece, twins);
  }
  return out;
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The pieces of `parts` that are an unnamed calendar alternative with a named `.ics` twin of the same bytes. */
export async function calendarTwins(parts: readonly Part[], bytesOf: (piece: number) => Promise<Uint8Array>): Promise<Set<number>> {
  const hidden = new Set<number>();
  for (const [piece, twins] of calendarTwinCandidates(parts)) {
    const mine = await bytesOf(piece);
    for (const t of twins) {
      if (equalBytes(mine, await bytesOf(t))) {
        hidden.add(piece);
        break;
      }
    }
  }
  return hidden;
}
