/**
 * Escrow admins and eDiscovery (MISSION §6, docs/crypto.md §3.5, docs/admin.md "Escrow &
 * discovery"). An admin designates several escrow admins so that escrow does not die with one
 * person's devices; the escrow key reaches each designee's devices boxed by a device that holds
 * it (the server never sees it). An escrow admin opens a user's mail for a date range and a stated
 * case reference; decryption and filtering by search terms happen on the escrow admin's device.
 */
import { z } from 'zod';
import { entryView } from './mail';
import { address, type RouteContract } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(Math.ceil((max * 4) / 3));
const deviceIdHex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-hex-digit device id');

export const escrowAdminView = z.object({
  address: z.string(),
  displayName: z.string(),
  role: z.enum(['admin', 'user', 'escrow_admin']),
  designatedAt: z.string(),
  designatedBy: z.string().nullable(),
  /** The designee's approved real devices, and whether each holds the escrow key yet. */
  devices: z.array(z.object({ deviceId: z.string(), name: z.string(), holdsKey: z.boolean() })),
});

/** Admin or escrow admin: who the escrow admins are, and which of their devices hold the key. */
export const adminEscrowAdmins = {
  method: 'GET',
  path: '/api/v1/admin/escrow/admins',
  response: z.object({ admins: z.array(escrowAdminView) }),
} as const;

/** Admin (fresh re-auth): designates a user of the account as escrow admin (recorded). */
export const adminEscrowDesignate = {
  method: 'POST',
  path: '/api/v1/admin/escrow/admins',
  body: z.object({ address }).strict(),
  response: escrowAdminView,
} as const;

/** Admin (fresh re-auth): ends a designation; the key boxes of that person's devices are deleted (recorded). */
export const adminEscrowUndesignate = {
  method: 'DELETE',
  path: '/api/v1/admin/escrow/admins/:address',
  params: z.object({ address }),
  response: z.object({ removed: z.literal(true), boxesDeleted: z.number() }),
} as const;

/**
 * Escrow admin, on a device that holds the key: the escrow key boxed (on this device) to other
 * escrow admins' approved devices (boxEscrowKey). Boxes for devices that hold one already are
 * left as they are.
 */
export const adminEscrowShare = {
  method: 'POST',
  path: '/api/v1/admin/escrow/boxes',
  body: z.object({ boxes: z.array(z.object({ deviceId: deviceIdHex, box: b64u(4096) }).strict()).min(1).max(64) }).strict(),
  response: z.object({ added: z.array(z.object({ address: z.string(), deviceId: z.string() })) }),
} as const;

const caseRef = z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().min(1, 'state the case reference').max(200);

/**
 * Escrow admin, on a device that holds the key: a user's mail received in [from, to), for
 * discovery under a case reference, a page at a time (ciphertext, as the user's own client gets
 * it). The first page records the opening in the change history and in the user's openings list.
 */
export const adminDiscoveryMessages = {
  method: 'POST',
  path: '/api/v1/admin/escrow/users/:address/discovery',
  params: z.object({ address }),
  body: z
    .object({
      from: z.iso.datetime({ offset: true }),
      to: z.iso.datetime({ offset: true }),
      caseRef,
      /** The last entry id of the previous page. */
      cursor: z.string().uuid().optional(),
    })
    .strict(),
  response: z.object({ escrowId: z.string(), entries: z.array(entryView), nextCursor: z.string().nullable() }),
} as const;

/** Escrow admin: an attachment piece of a message the user holds, during discovery (ciphertext, `application/octet-stream`). */
export const adminDiscoveryPiece = {
  method: 'GET',
  path: '/api/v1/admin/escrow/users/:address/discovery/blobs/:blobId',
  params: z.object({ address, blobId: z.string().uuid() }),
  response: z.unknown(),
} as const;

export const escrowAdminRoutes = { adminEscrowAdmins, adminEscrowDesignate, adminEscrowUndesignate, adminEscrowShare, adminDiscoveryMessages, adminDiscoveryPiece } satisfies Record<string, RouteContract>;
