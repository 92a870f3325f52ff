/**
 * Organising mail (docs/mail.md "Organising mail"): custom folders whose names are sealed to the
 * user (the server sees ids), renaming labels, moving many entries at once, Restore from Trash,
 * Empty Trash, and the per-user spam signal (Report spam / Not spam).
 */
import { z } from 'zod';

const uuid = z.string().uuid();
const sealedName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected base64url').max(Math.ceil((4096 * 4) / 3));

/** Most custom folders one user keeps; most entries one bulk request touches. */
export const organiseLimits = Object.freeze({ folders: 500, bulkEntries: 500 });

export const customFolder = z.object({ id: z.string(), name: z.string(), total: z.number(), unread: z.number() });

/** The caller's custom folders with their counts; names are sealed boxes only their devices open. */
export const folderList = {
  method: 'GET',
  path: '/api/v1/mail/folders',
  response: z.object({ folders: z.array(customFolder) }),
} as const;

/** Creates a folder. The id is the client's: the sealed name is bound to it (self box 'folder-name'). */
export const folderCreate = {
  method: 'POST',
  path: '/api/v1/mail/folders',
  body: z.object({ id: uuid, name: sealedName }).strict(),
  response: customFolder,
} as const;

/** Renames a folder: a new sealed name for the same id. */
export const folderRename = {
  method: 'PATCH',
  path: '/api/v1/mail/folders/:folderId',
  params: z.object({ folderId: uuid }),
  body: z.object({ name: sealedName }).strict(),
  response: customFolder,
} as const;

/** Deletes a folder; the mail in it goes to `moveTo` (Inbox unless named). */
export const folderDelete = {
  method: 'DELETE',
  path: '/api/v1/mail/folders/:folderId',
  params: z.object({ folderId: uuid }),
  query: z.object({ moveTo: z.enum(['inbox', 'archive', 'trash']).default('inbox') }).strict(),
  response: z.object({ id: z.string(), moved: z.number() }),
} as const;

/** Renames a label: a new sealed name for the same id (self box 'label-name'). */
export const labelRename = {
  method: 'PATCH',
  path: '/api/v1/mail/labels/:labelId',
  params: z.object({ labelId: uuid }),
  body: z.object({ name: sealedName }).strict(),
  response: z.object({ id: z.string(), name: z.string() }),
} as const;

/** Where an entry is: a system folder, and the custom folder when filed in one. */
export const placement = z.object({ id: z.string(), folder: z.enum(['inbox', 'drafts', 'sent', 'outbox', 'archive', 'trash', 'spam']), folderId: z.string().nullable() });

/**
 * Changes many entries at once: move (a system folder, or `folderId` for a custom one), mark
 * read, star, add or remove labels. Answers each entry's place before and after (Undo moves
 * them back). Drafts and queued mail are not moved.
 */
export const mailBulk = {
  method: 'POST',
  path: '/api/v1/mail/bulk',
  body: z
    .object({
      entryIds: z.array(uuid).min(1).max(organiseLimits.bulkEntries),
      folder: z.enum(['inbox', 'archive', 'trash', 'spam']).optional(),
      folderId: uuid.optional(),
      read: z.boolean().optional(),
      starred: z.boolean().optional(),
      addLabels: z.array(uuid).max(50).optional(),
      removeLabels: z.array(uuid).max(50).optional(),
    })
    .strict()
    .refine((b) => !(b.folder && b.folderId), 'name a folder or a custom folder, not both')
    .refine((b) => Object.keys(b).length > 1, 'expected at least one change'),
  response: z.object({ before: z.array(placement), after: z.array(placement) }),
} as const;

/** Puts entries from Trash back where they came from (their custom folder, or the folder before; Inbox when unknown). */
export const mailRestore = {
  method: 'POST',
  path: '/api/v1/mail/restore',
  body: z.object({ entryIds: z.array(uuid).min(1).max(organiseLimits.bulkEntries) }).strict(),
  response: z.object({ restored: z.array(placement) }),
} as const;

/** Deletes everything in Trash for good (under legal hold the server keeps it out of sight). */
export const trashEmpty = {
  method: 'POST',
  path: '/api/v1/mail/trash/empty',
  response: z.object({ deleted: z.number() }),
} as const;

/**
 * Report spam / Not spam: moves the entries (to Spam, or to the Inbox) and remembers their
 * senders for the caller: later mail from a reported sender is filed in Spam, from an allowed
 * one in the Inbox whatever it scores.
 */
export const spamReport = {
  method: 'POST',
  path: '/api/v1/mail/spam-report',
  body: z.object({ entryIds: z.array(uuid).min(1).max(organiseLimits.bulkEntries), verdict: z.enum(['spam', 'not-spam']) }).strict(),
  response: z.object({ moved: z.number(), senders: z.array(z.string()) }),
} as const;

/** The caller's sender verdicts (for Settings: what they reported or allowed). */
export const senderVerdictList = {
  method: 'GET',
  path: '/api/v1/mail/sender-verdicts',
  response: z.object({ verdicts: z.array(z.object({ address: z.string(), verdict: z.enum(['spam', 'allow']), createdAt: z.string() })) }),
} as const;

/** Forgets one sender verdict. */
export const senderVerdictRemove = {
  method: 'DELETE',
  path: '/api/v1/mail/sender-verdicts/:address',
  params: z.object({ address: z.string().min(3).max(254) }),
  response: z.object({ removed: z.literal(true) }),
} as const;

/**
 * The mailing lists of the caller's organisation (addresses and names; members stay with the
 * admins). The client sends to these as standard mail: a list is expanded by the server.
 */
export const myLists = {
  method: 'GET',
  path: '/api/v1/mail/lists',
  response: z.object({ lists: z.array(z.object({ address: z.string(), name: z.string() })) }),
} as const;
