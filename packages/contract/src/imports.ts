/**
 * Migration (MISSION §6, docs/admin.md "Import"): an admin imports a user's mail (an mbox file
 * such as Google Takeout's, a zip of .eml files or of .mbox files, or one .eml), Google Groups
 * member lists as mailing lists, and a Google Contacts CSV held for the user's address book.
 *
 * Mail is uploaded as the raw file (streamed, `application/octet-stream`, `application/mbox`,
 * `application/zip` or `message/rfc822`) and imported by a queue job; the import's view shows
 * its progress. CSV files are small and sent as JSON text.
 */
import { z } from 'zod';
import { address, type RouteContract } from './routes';
import { folderName } from './mail';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

export const importLimits = Object.freeze({
  /** Largest upload of one mail import (plaintext bytes); the server may set a lower one. */
  uploadBytes: 20 * 1024 * 1024 * 1024,
  /** Largest single message inside an import (as the SMTP ingress: 35 MiB). */
  messageBytes: 35 * 1024 * 1024,
  /** Largest CSV text (Groups, Contacts). */
  csvChars: 4 * 1024 * 1024,
  /** Failures kept per import (the count goes on). */
  failuresKept: 200,
});

export const importFormats = ['mbox', 'zip', 'eml'] as const;
export type ImportFormat = (typeof importFormats)[number];

export const mailImportView = z.object({
  id: z.string(),
  userId: z.string(),
  address: z.string(),
  format: z.enum(importFormats),
  fileName: z.string(),
  folder: folderName,
  status: z.enum(['uploading', 'queued', 'running', 'done', 'failed']),
  size: z.number(),
  /** Messages found (null until counted). */
  total: z.number().nullable(),
  processed: z.number(),
  imported: z.number(),
  duplicates: z.number(),
  failed: z.number(),
  failures: z.array(z.object({ index: z.number(), reason: z.string(), messageId: z.string().optional() })),
  /** Why the import stopped, when it did. */
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type MailImportView = z.infer<typeof mailImportView>;

const fileName = z
  .string()
  .refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE)
  .trim()
  .min(1)
  .max(255);

/**
 * Admin: uploads a mail export for a user of the admin's organisation; the body is the file
 * itself. Answers the import (status `queued`); a job then seals each message to the user's key.
 */
export const adminImportMail = {
  method: 'POST',
  path: '/api/v1/admin/imports/mail',
  query: z
    .object({
      /** The user, by id or by address (one of the two). */
      userId: z.uuid().optional(),
      address: address.optional(),
      format: z.enum(importFormats),
      fileName: fileName.default('upload'),
      /** For messages whose file names no folder (Gmail's labels name one). */
      folder: z.enum(['inbox', 'archive']).default('inbox'),
    })
    .strict()
    .refine((q) => q.userId !== undefined || q.address !== undefined, { message: 'expected userId or address', path: ['address'] }),
  response: mailImportView,
} as const;

/** Admin: the organisation's mail imports, newest first (at most 100). */
export const adminImportList = {
  method: 'GET',
  path: '/api/v1/admin/imports',
  response: z.object({ imports: z.array(mailImportView) }),
} as const;

/** Admin: one import and its progress. */
export const adminImportGet = {
  method: 'GET',
  path: '/api/v1/admin/imports/:id',
  params: z.object({ id: z.uuid() }),
  response: mailImportView,
} as const;

const csv = z.string().min(1).max(importLimits.csvChars);

/**
 * Admin: Google Groups members (the CSV a group's "Export members" gives, or the Admin console's
 * member list) into mailing lists of the organisation, made when absent; members already on a
 * list are not added twice. `listAddress` names the list when the CSV has no group column.
 */
export const adminImportGroups = {
  method: 'POST',
  path: '/api/v1/admin/imports/groups',
  body: z.object({ csv, listAddress: address.optional(), listName: z.string().trim().min(1).max(100).regex(/^[^\r\n<>"\\]*$/).optional() }).strict(),
  response: z.object({
    lists: z.array(z.object({ address: z.string(), created: z.boolean(), added: z.number(), alreadyMembers: z.number() })),
    skipped: z.array(z.object({ row: z.number(), reason: z.string() })),
  }),
} as const;

/**
 * Admin: a Google Contacts CSV for a user, parsed and held sealed (to the user's newest per-user
 * key, or the server's key before they have one) until their address book picks it up.
 */
export const adminImportContacts = {
  method: 'POST',
  path: '/api/v1/admin/imports/contacts',
  body: z
    .object({ userId: z.uuid().optional(), address: address.optional(), csv })
    .strict()
    .refine((b) => b.userId !== undefined || b.address !== undefined, { message: 'expected userId or address', path: ['address'] }),
  response: z.object({ contacts: z.number(), sealedTo: z.enum(['user', 'server']), skipped: z.array(z.object({ row: z.number(), reason: z.string() })) }),
} as const;

export const importRoutes = { adminImportMail, adminImportList, adminImportGet, adminImportGroups, adminImportContacts } satisfies Record<string, RouteContract>;
