/**
 * Compose helpers (MISSION §4, docs/mail.md "Compose"): scheduled sends held in the Outbox,
 * the undo-send delay, and signatures and templates sealed to the user's own keys (the server
 * stores their ciphertext only).
 */
import { z } from 'zod';
import type { RouteContract } from './routes';
import { address } from './routes';

const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(Math.ceil((max * 4) / 3));
const idParam = z.object({ id: z.uuid() });

/** Limits of the compose helpers. */
export const composeLimits = Object.freeze({
  /** Furthest ahead a mail may be scheduled (days). */
  scheduleDays: 366,
  /** A sealed signature or template (bytes of its self box). */
  sealedBytes: 64 * 1024,
  signatures: 50,
  templates: 200,
  /** Most scheduled mails waiting per user. */
  scheduled: 500,
});

/** The undo-send delays a user can choose (seconds; 0 is off). */
export const undoSendChoices = [0, 5, 10, 20, 30] as const;

export const scheduledView = z.object({
  id: z.string(),
  entryId: z.string(),
  sendAt: z.string(),
  status: z.enum(['scheduled', 'sent', 'cancelled', 'failed']),
  error: z.string().nullable(),
  to: z.array(z.string()),
  cc: z.array(z.string()),
});

/** The caller's scheduled mails that have not left yet (and those that failed to). */
export const scheduledList = {
  method: 'GET',
  path: '/api/v1/mail/scheduled',
  response: z.object({ scheduled: z.array(scheduledView) }),
} as const;

/** Cancels a scheduled mail before it leaves; its Outbox entry is deleted (409 once it left). */
export const scheduledCancel = {
  method: 'DELETE',
  path: '/api/v1/mail/scheduled/:id',
  params: idParam,
  response: z.object({ id: z.string(), cancelled: z.literal(true) }),
} as const;

const composeSettingsView = z.object({ undoSendSeconds: z.number().int() });

export const composeSettingsGet = {
  method: 'GET',
  path: '/api/v1/mail/compose-settings',
  response: composeSettingsView,
} as const;

export const composeSettingsUpdate = {
  method: 'PATCH',
  path: '/api/v1/mail/compose-settings',
  body: z
    .object({
      undoSendSeconds: z
        .number()
        .int()
        .refine((n) => (undoSendChoices as readonly number[]).includes(n), `expected one of ${undoSendChoices.join(', ')}`),
    })
    .strict(),
  response: composeSettingsView,
} as const;

export const signatureView = z.object({
  id: z.string(),
  /** The sending address it belongs to (null: any of the user's addresses). */
  address: z.string().nullable(),
  isDefault: z.boolean(),
  /** The self box (kind "signature") holding `{ name, html, text }` as JSON. */
  sealed: z.string(),
  updatedAt: z.string(),
});

export const signatureList = {
  method: 'GET',
  path: '/api/v1/mail/signatures',
  response: z.object({ signatures: z.array(signatureView) }),
} as const;

/** Creates or replaces a signature (the id is chosen by the client: it is bound into the seal). */
export const signaturePut = {
  method: 'PUT',
  path: '/api/v1/mail/signatures/:id',
  params: idParam,
  body: z.object({ address: address.nullable().default(null), isDefault: z.boolean().default(false), sealed: b64u(composeLimits.sealedBytes).min(1) }).strict(),
  response: signatureView,
} as const;

export const signatureDelete = {
  method: 'DELETE',
  path: '/api/v1/mail/signatures/:id',
  params: idParam,
  response: z.object({ id: z.string(), deleted: z.literal(true) }),
} as const;

export const templateView = z.object({
  id: z.string(),
  /** The self box (kind "template") holding `{ name, subject, html, text }` as JSON. */
  sealed: z.string(),
  updatedAt: z.string(),
});

export const templateList = {
  method: 'GET',
  path: '/api/v1/mail/templates',
  response: z.object({ templates: z.array(templateView) }),
} as const;

export const templatePut = {
  method: 'PUT',
  path: '/api/v1/mail/templates/:id',
  params: idParam,
  body: z.object({ sealed: b64u(composeLimits.sealedBytes).min(1) }).strict(),
  response: templateView,
} as const;

export const templateDelete = {
  method: 'DELETE',
  path: '/api/v1/mail/templates/:id',
  params: idParam,
  response: z.object({ id: z.string(), deleted: z.literal(true) }),
} as const;

export const composeRoutes = {
  scheduledList,
  scheduledCancel,
  composeSettingsGet,
  composeSettingsUpdate,
  signatureList,
  signaturePut,
  signatureDelete,
  templateList,
  templatePut,
  templateDelete,
} satisfies Record<string, RouteContract>;
