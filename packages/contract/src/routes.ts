/**
 * Route contracts: one entry per API route, holding the zod schemas that Fastify validates with
 * and that the typed client (packages/client) parses responses with.
 */
import { z } from 'zod';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

/**
 * An e-mail address as Sealmail accepts it (RFC 5321 limits: 64-octet local part, 254 total),
 * without control, invisible or direction-changing characters (look-alikes; see text.ts).
 */
export const address = z
  .string()
  .refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE)
  .trim()
  .toLowerCase()
  .max(254)
  .regex(/^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i, 'expected an e-mail address')
  // A top-level domain is never all digits (RFC 1123 §2.1, RFC 3696 §2): `x@192.0.2.1` is an IP
  // address without brackets, which would let a sender point the relay at any host.
  .refine((s) => !/\.\d+$/.test(s), 'expected an e-mail address with a domain name (an IP address is not a mail domain)');

export const health = {
  method: 'GET',
  path: '/healthz',
  response: z.object({ status: z.literal('ok'), uptimeSeconds: z.number() }),
} as const;

export const ready = {
  method: 'GET',
  path: '/readyz',
  response: z.object({ status: z.literal('ready') }),
} as const;

/**
 * The same readiness check under /api, so that a web host (which forwards only /api/* and answers
 * every other path with its page) can show it: the admin console's sign-in page does.
 */
export const apiReady = {
  method: 'GET',
  path: '/api/v1/ready',
  response: z.object({ status: z.literal('ready') }),
} as const;

/**
 * What a sign-in page needs: the service and its version. Nothing about any organisation is
 * given to anonymous callers; with a session, `domains` lists the caller's own organisation's.
 */
export const serverInfo = {
  method: 'GET',
  path: '/api/v1/info',
  response: z.object({
    service: z.literal('sealmail'),
    version: z.string(),
    /** The caller's own organisation's domains; absent without a session. */
    domains: z.array(z.string()).optional(),
  }),
} as const;

/**
 * Which of these addresses are active Sealmail users here (compose uses it to choose E2EE).
 * Signed-in users only; it reveals no more than SMTP's RCPT check does (existence, no names).
 */
export const directoryLookup = {
  method: 'POST',
  path: '/api/v1/directory/lookup',
  body: z.object({ addresses: z.array(address).min(1).max(100) }).strict(),
  response: z.object({
    results: z.array(z.object({ address: z.string(), exists: z.boolean() })),
  }),
} as const;

const sessionView = z.object({
  id: z.string(),
  user: z.object({ id: z.string(), accountId: z.string(), address: z.string(), displayName: z.string(), role: z.enum(['admin', 'user', 'escrow_admin']) }),
  expiresAt: z.string(),
  idleExpiresAt: z.string(),
  /** True until the user enrols a second factor the account requires. */
  totpEnrollmentRequired: z.boolean(),
  totpEnabled: z.boolean(),
  /** The device this session acts as (hex key id), or null until a device is set up or proves itself. */
  deviceId: z.string().nullable(),
  /** That device's state in the user's key history; only `approved` opens mail and settings. */
  deviceStatus: z.enum(['pending', 'approved', 'revoked']).nullable(),
  /** An admin reset the password: choose a new one (POST /api/v1/auth/password) before anything else. */
  passwordChangeRequired: z.boolean(),
  /** Until when the last re-authentication counts for sensitive switches (null: none yet). */
  reauthUntil: z.string().nullable(),
});

/** A one-time TOTP recovery code as shown to the user: four groups of four base32 characters. */
export const recoveryCode = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z2-7]{4}-?[A-Z2-7]{4}-?[A-Z2-7]{4}-?[A-Z2-7]{4}$/, 'expected a recovery code like ABCD-EFGH-JKLM-NPQR');
const totpCode = z.string().regex(/^\d{6}$/, 'expected 6 digits');

/**
 * Sign in with address and password (and a TOTP code when the user has one). Answers the
 * session and its token: in an HttpOnly cookie for browsers and in the body for the CLI.
 */
export const signIn = {
  method: 'POST',
  path: '/api/v1/auth/sign-in',
  body: z
    .object({
      address,
      password: z.string().min(1).max(1024),
      totp: totpCode.optional(),
      /** In place of a TOTP code: one of the user's recovery codes (each works once). */
      recoveryCode: recoveryCode.optional(),
    })
    .strict()
    .refine((b) => !(b.totp && b.recoveryCode), { message: 'give a TOTP code or a recovery code, not both', path: ['recoveryCode'] }),
  response: z.object({ token: z.string(), session: sessionView }),
} as const;

export const signOut = {
  method: 'POST',
  path: '/api/v1/auth/sign-out',
  response: z.object({ signedOut: z.literal(true) }),
} as const;

export const currentSession = {
  method: 'GET',
  path: '/api/v1/auth/session',
  response: sessionView,
} as const;

/** Starts TOTP enrolment: a new secret to put into an authenticator app. */
export const totpEnroll = {
  method: 'POST',
  path: '/api/v1/auth/totp/enroll',
  response: z.object({ secret: z.string(), otpauthUrl: z.string() }),
} as const;

/** Finishes TOTP enrolment with a code from the app. */
export const totpConfirm = {
  method: 'POST',
  path: '/api/v1/auth/totp/confirm',
  body: z.object({ code: totpCode }).strict(),
  /** Ten one-time recovery codes, shown once (the server keeps only their hashes). */
  response: z.object({ totpEnabled: z.literal(true), recoveryCodes: z.array(z.string()) }),
} as const;

/** Admin: the account's security settings. */
export const adminSecurityGet = {
  method: 'GET',
  path: '/api/v1/admin/security',
  response: z.object({ requireTotp: z.boolean() }),
} as const;

/** Admin: change the account's security settings. */
export const adminSecurity = {
  method: 'PUT',
  path: '/api/v1/admin/security',
  body: z.object({ requireTotp: z.boolean() }).strict(),
  response: z.object({ requireTotp: z.boolean() }),
} as const;

/** base64url without padding, bounded. */
const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(Math.ceil((max * 4) / 3));
const deviceIdHex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-hex-digit device id');

/** The key directory: a user's sigchain, verbatim, for clients to verify themselves. */
export const getSigchain = {
  method: 'GET',
  path: '/api/v1/keys/:address/sigchain',
  params: z.object({ address }),
  response: z.object({
    userId: z.string(),
    address: z.string(),
    links: z.array(z.string()),
    /** When the server stored each link (its own clock; informational, like everything the server says). */
    storedAt: z.array(z.string()).default([]),
    /** Earlier histories this user started afresh from (docs/sigchain.md §6.1), oldest first: hex hashes. */
    resets: z.array(z.object({ at: z.string(), oldLength: z.number(), oldRoot: z.string(), oldHead: z.string() })).default([]),
    /**
     * The user's own address when `address` is an alias or +tag form of it (docs/mail.md "Aliases
     * and send-as"): the client verifies the chain under this address and pins the alias to the user.
     */
    primary: z.string().optional(),
  }),
} as const;

/**
 * Starts the caller's key history afresh (docs/sigchain.md §6.1): for a user with no device,
 * backup key or escrow left. Every device and key goes; correspondents' clients show the reset.
 */
export const resetKeyHistory = {
  method: 'POST',
  path: '/api/v1/keys/reset',
  body: z
    .object({ password: z.string().min(1).max(1024), totp: totpCode.optional(), recoveryCode: recoveryCode.optional(), confirm: z.literal('start my key history afresh') })
    .strict(),
  response: z.object({ resetAt: z.string() }),
} as const;

/**
 * Appends one link to the caller's own sigchain, with the PUK boxes of a new generation it
 * introduces (one per active device). The server checks the whole chain before storing.
 */
export const appendSigchainLink = {
  method: 'POST',
  path: '/api/v1/keys/sigchain',
  body: z
    .object({
      link: b64u(20000),
      pukBoxes: z
        .array(z.object({ deviceId: deviceIdHex, generation: z.number().int().min(1).max(0xffffffff), box: b64u(4096) }).strict())
        .max(64)
        .default([]),
      /** With a device-approve: the older generations, signed by the approving device, for the approved one (docs/crypto.md §5.5). */
      historyBox: b64u(65536).optional(),
    })
    .strict(),
  response: z.object({ seqno: z.number(), headHash: z.string(), deviceId: z.string().nullable() }),
} as const;

/**
 * The PUK boxes addressed to a device: the caller's own, or one of the caller's virtual devices
 * (the backup key, which any of the user's sessions may open with the backup key in hand).
 */
export const myPukBoxes = {
  method: 'GET',
  path: '/api/v1/keys/puk-boxes/:deviceId',
  params: z.object({ deviceId: deviceIdHex }),
  response: z.object({
    boxes: z.array(z.object({ generation: z.number(), box: z.string() })),
    /** The signed history box the approving device left for this one, if it was approved by another. */
    history: z.object({ fromDeviceId: z.string(), box: z.string() }).nullable(),
  }),
} as const;

export type RouteContract = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
};

/**
 * Binds this session to a device that already has keys: the device signs
 * (userId, sessionId, deviceId) with context `device-session` (docs/sigchain.md §8).
 */
export const bindSessionDevice = {
  method: 'POST',
  path: '/api/v1/keys/session-device',
  body: z.object({ deviceId: deviceIdHex, signature: b64u(64) }).strict(),
  response: z.object({ deviceId: z.string() }),
} as const;

const pukBoxesIn = z
  .array(z.object({ deviceId: deviceIdHex, generation: z.number().int().min(1).max(0xffffffff), box: b64u(4096) }).strict())
  .max(64)
  .default([]);

/** An account's escrow key as users and admins see it (public half only). */
const escrowView = z.object({
  id: z.string(),
  accountId: z.string(),
  publicKeys: z.string(),
  certificate: z.string(),
  status: z.enum(['active', 'disabled']),
  enabledAt: z.string(),
  enabledBy: z.string().nullable(),
  /** The enabling admin's device endorsement (docs/sigchain.md §3.1); clients verify it against that admin's chain. */
  endorsement: z.object({ address: z.string(), userId: z.string(), deviceId: z.string(), signature: z.string() }).nullable(),
});

/** The account's active escrow key, which every user's client adds to its chain (MISSION §3). */
export const accountEscrow = {
  method: 'GET',
  path: '/api/v1/keys/escrow',
  response: z.object({ escrow: escrowView.nullable() }),
} as const;

/** Admin: escrow state, who holds the key, and which users' chains carry it. */
export const adminEscrowGet = {
  method: 'GET',
  path: '/api/v1/admin/escrow',
  response: z.object({
    escrow: escrowView.nullable(),
    holders: z.array(z.object({ address: z.string(), deviceId: z.string() })),
    users: z.array(z.object({ address: z.string(), displayName: z.string(), hasKeys: z.boolean(), escrowInChain: z.boolean() })),
  }),
} as const;

/**
 * Admin: enables escrow with a key made on the admin's device — its public keys, certificate
 * (docs/sigchain.md §3) and the secret boxed to escrow admins' devices.
 */
export const adminEscrowEnable = {
  method: 'POST',
  path: '/api/v1/admin/escrow',
  body: z
    .object({
      publicKeys: b64u(1250),
      certificate: b64u(64),
      /** This session's device's endorsement of the key (endorseEscrowKey). */
      endorsement: b64u(64),
      boxes: z.array(z.object({ deviceId: deviceIdHex, box: b64u(4096) }).strict()).min(1).max(64),
    })
    .strict(),
  response: z.object({ id: z.string() }),
} as const;

/** Admin: turns escrow off. The admin's client then removes it from every chain (rotating PUKs). */
export const adminEscrowDisable = {
  method: 'POST',
  path: '/api/v1/admin/escrow/disable',
  response: z.object({ id: z.string(), remaining: z.number() }),
} as const;

/** Escrow admin: the escrow secret boxed to this session's device. */
export const adminEscrowBox = {
  method: 'GET',
  path: '/api/v1/admin/escrow/box',
  response: z.object({ escrowId: z.string(), box: z.string() }),
} as const;

/** Escrow admin: a user's PUK boxes for the escrow device (recovery and discovery; recorded). */
export const adminEscrowPukBoxes = {
  method: 'POST',
  path: '/api/v1/admin/escrow/users/:address/puk-boxes',
  params: z.object({ address }),
  body: z.object({ purpose: z.enum(['recovery', 'discovery', 'removal']) }).strict(),
  response: z.object({ escrowId: z.string(), boxes: z.array(z.object({ generation: z.number(), box: z.string() })) }),
} as const;

/** Escrow admin: appends a link signed by the escrow key to a user's chain (approve a device, or remove escrow). */
export const adminEscrowAppend = {
  method: 'POST',
  path: '/api/v1/admin/escrow/users/:address/sigchain',
  params: z.object({ address }),
  body: z.object({ link: b64u(20000), pukBoxes: pukBoxesIn, historyBox: b64u(65536).optional() }).strict(),
  response: z.object({ seqno: z.number(), headHash: z.string() }),
} as const;

/** The user's own escrow openings: when an escrow admin read their keys or approved a device with the escrow key, and why. */
export const myEscrowOpenings = {
  method: 'GET',
  path: '/api/v1/keys/escrow/openings',
  response: z.object({
    openings: z.array(
      z.object({
        at: z.string(),
        purpose: z.enum(['recovery', 'discovery', 'removal', 'device-approved']),
        by: z.string().nullable(),
        /** A discovery opening: the case reference the escrow admin stated, and the date range opened. */
        caseRef: z.string().optional(),
        range: z.object({ from: z.string(), to: z.string() }).optional(),
      }),
    ),
  }),
} as const;

export const routes = { health, ready, apiReady, serverInfo, directoryLookup, signIn, signOut, currentSession, totpEnroll, totpConfirm, adminSecurityGet, adminSecurity, getSigchain, appendSigchainLink, myPukBoxes, bindSessionDevice, accountEscrow, adminEscrowGet, adminEscrowEnable, adminEscrowDisable, adminEscrowBox, adminEscrowPukBoxes, adminEscrowAppend, myEscrowOpenings, resetKeyHistory } satisfies Record<string, RouteContract>;
