/**
 * The address book (MISSION §2 and §4, docs/mail.md "Contacts"): each contact is a self box the
 * user's device sealed to their own per-user key (docs/crypto.md §5.12, kind "contact"). The
 * server keeps an opaque id the client chose, a version for safe concurrent edits and the sealed
 * bytes — no name, address or group in plaintext, so nothing of it is searchable there.
 */
import { z } from 'zod';
import type { RouteContract } from './routes';

/** Limits of the address book. */
export const contactLimits = Object.freeze({
  /** Most contacts one user keeps. */
  contacts: 10_000,
  /** Largest sealed contact, in bytes (a contact with long notes fits; photos are not kept). */
  boxBytes: 65_536,
});

const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').min(1).max(Math.ceil((max * 4) / 3));
const uuid = z.string().uuid();

export const contactView = z.object({
  id: z.string(),
  /** Starts at 1; each update adds one. An update names the version it replaces. */
  version: z.number().int(),
  /** The self box, base64url. */
  box: z.string(),
  updatedAt: z.string(),
});
export type ContactView = z.infer<typeof contactView>;

/** The caller's contacts, sealed. */
export const contactList = {
  method: 'GET',
  path: '/api/v1/contacts',
  response: z.object({ contacts: z.array(contactView) }),
} as const;

/** Stores a new contact; the id is chosen by the client (the box is bound to it). */
export const contactCreate = {
  method: 'POST',
  path: '/api/v1/contacts',
  body: z.object({ id: uuid, box: b64u(contactLimits.boxBytes) }).strict(),
  response: contactView,
} as const;

/**
 * Replaces a contact's box. `version` is the version the device edited: when another device
 * saved in between, the answer is CONTACT_VERSION_CONFLICT and nothing changes.
 */
export const contactUpdate = {
  method: 'PUT',
  path: '/api/v1/contacts/:id',
  params: z.object({ id: uuid }),
  body: z.object({ version: z.number().int().min(1), box: b64u(contactLimits.boxBytes) }).strict(),
  response: contactView,
} as const;

export const contactDelete = {
  method: 'DELETE',
  path: '/api/v1/contacts/:id',
  params: z.object({ id: uuid }),
  response: z.object({ deleted: z.literal(true) }),
} as const;

/**
 * Contacts an administrator imported for the caller (a Google Contacts CSV, docs/admin.md
 * "Import"), each sealed to the caller's per-user key; the device opens them, seals each contact
 * into the address book and deletes the import. Imports the server had to seal to its own key
 * (the user had no key yet) are sealed again to the user's newest key before they are listed.
 */
export const contactImportList = {
  method: 'GET',
  path: '/api/v1/contacts/imports',
  response: z.object({ imports: z.array(z.object({ id: z.string(), generation: z.number().int(), box: z.string(), count: z.number().int() })) }),
} as const;

export const contactImportDelete = {
  method: 'DELETE',
  path: '/api/v1/contacts/imports/:id',
  params: z.object({ id: uuid }),
  response: z.object({ deleted: z.literal(true) }),
} as const;

/** Box purpose and context of an admin's sealed contacts import (the address book opens it with these). */
export const CONTACTS_IMPORT_BOX_PURPOSE = 'contacts-import';
export const contactsImportBoxContext = (userId: string, importId: string) => new TextEncoder().encode(`sealmail/v1/contacts-import\0${userId}\0${importId}`);

export const contactRoutes = { contactList, contactCreate, contactUpdate, contactDelete, contactImportList, contactImportDelete } satisfies Record<string, RouteContract>;
