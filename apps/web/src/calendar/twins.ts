/**
 * Invitations usually carry their iCalendar twice: as the `text/calendar` alternative of the body
 * (RFC 6047, what calendar programs read; nodemailer's `icalEvent` and Google's and Outlook's
 * invitations do this) and as an attached `.ics` file of the same bytes. The reader lists the
 * file once: the unnamed alternative is shown by the invitation card, not as a second attachment.
 */
interface Part {
  piece: number;
  filename: string;
  contentType: string;
  size: number;
}

const isCalendar = (a: Part) => /^(text\/calendar|application\/ics)$/i.test(a.contentType) || /\.ics$/i.test(a.filename);

/** The pieces of `parts` that are an unnamed calendar alternative with a named `.ics` twin of the same size. */
export function calendarTwins(parts: readonly Part[]): Set<number> {
  const named = parts.filter((a) => isCalendar(a) && /\.ics$/i.test(a.filename));
  // An unnamed part comes out of the server's parse as "attachment" (deliver-local.ts).
  return new Set(parts.filter((a) => a.contentType.toLowerCase() === 'text/calendar' && a.filename === 'attachment' && named.some((n) => n.piece !== a.piece && n.size === a.size)).map((a) => a.piece));
}
