/**
 * Route contracts: one entry per API route, holding the zod schemas that Fastify validates with
 * and that the typed client (packages/client) parses responses with.
 */
import { z } from 'zod';

/** An e-mail address as Sealmail accepts it (RFC 5321 limits: 64-octet local part, 254 total). */
export const address = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .regex(/^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i, 'expected an e-mail address');

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

export const serverInfo = {
  method: 'GET',
  path: '/api/v1/info',
  response: z.object({
    service: z.literal('sealmail'),
    version: z.string(),
    domains: z.array(z.string()),
  }),
} as const;

/**
 * Which of these addresses are active Sealmail users here (compose uses it to choose E2EE).
 * It reveals no more than SMTP's RCPT check already does (existence, no names).
 */
export const directoryLookup = {
  method: 'POST',
  path: '/api/v1/directory/lookup',
  body: z.object({ addresses: z.array(address).min(1).max(100) }).strict(),
  response: z.object({
    results: z.array(z.object({ address: z.string(), exists: z.boolean() })),
  }),
} as const;

export type RouteContract = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: z.ZodType;
  response: z.ZodType;
};

export const routes = { health, ready, serverInfo, directoryLookup } satisfies Record<string, RouteContract>;
