/**
 * Maps everything that can go wrong in a request onto the error registry of
 * packages/contract. No stack trace or internal message ever reaches a client.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, errorBody, type ErrorCode } from '@sealmail/contract';
import { IcsError, icsErrorCode } from '../calendar/ical';

/** Fastify's own error codes → ours. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

/**
 * Prisma's codes for a value the database could not take (too long, wrong type, out of range,
 * not a UUID, …) and Postgres's SQLSTATE class 22 ("data exception": invalid text
 * representation, NUL in text, timestamp out of range, …): the request's fault, not the server's.
 */
const BAD_INPUT_PRISMA = new Set(['P2000', 'P2005', 'P2006', 'P2007', 'P2009', 'P2012', 'P2019', 'P2020', 'P2023', 'P2033']);

/** Walks `err` and what caused it (Prisma wraps the driver's error) until `test` holds for one. */
function someDatabaseError(err: unknown, test: (o: { code?: unknown; originalCode?: unknown; kind?: unknown }) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length && seen.size < 20) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as { code?: unknown; originalCode?: unknown; kind?: unknown; cause?: unknown; meta?: unknown; driverAdapterError?: unknown };
    if (test(o)) return true;
    queue.push(o.cause, o.meta, o.driverAdapterError);
    if (o.meta && typeof o.meta === 'object') queue.push((o.meta as { driverAdapterError?: unknown }).driverAdapterError);
  }
  return false;
}

/** True when `err` (or what caused it) is a database refusal of a value the request supplied. */
export function isBadInputDatabaseError(err: unknown): boolean {
  return someDatabaseError(err, (o) => {
    for (const c of [o.code, o.originalCode]) {
      if (typeof c !== 'string') continue;
      if (BAD_INPUT_PRISMA.has(c) || /^22[0-9A-Z]{3}$/.test(c)) return true;
    }
    // Driver-adapter errors name the kind of failure instead of a SQLSTATE.
    return typeof o.kind === 'string' && ['InvalidInputValue', 'LengthMismatch', 'ValueOutOfRange', 'InvalidUuid'].includes(o.kind);
  });
}

/**
 * True when `err` is a unique violation (Prisma P2002, SQLSTATE 23505): a row the request would
 * create already exists — most often the same create sent twice at once (a retry after a timeout,
 * two devices syncing), whose second look-up ran before the first insert committed.
 */
export function isUniqueViolation(err: unknown): boolean {
  return someDatabaseError(err, (o) => o.code === 'P2002' || o.code === '23505' || o.originalCode === '23505' || o.kind === 'UniqueConstraintViolation');
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send(errorBody('NOT_FOUND'));
  });

  app.setErrorHandler((err: FastifyError & { field?: string }, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.status).send(err.toBody());
    }
    if (err.code === 'FST_ERR_VALIDATION' || err.validation) {
      return reply.code(400).send(errorBody('VALIDATION_FAILED', err.field ?? err.validationContext));
    }
    if (err instanceof SyntaxError || (err.code && fastifyCodes[err.code])) {
      const code = err instanceof SyntaxError ? 'MALFORMED_JSON' : fastifyCodes[err.code]!;
      return reply.code(new ApiError(code).status).send(errorBody(code));
    }
    // Calendar data a route took without its own guard (a stored series re-summarised on a write).
    if (err instanceof IcsError) {
      const e = new ApiError(icsErrorCode(err), undefined, err.message);
      return reply.code(e.status).send(e.toBody());
    }
    if (isUniqueViolation(err)) {
      req.log.warn({ err }, 'unique violation: the row exists');
      return reply.code(409).send(errorBody('CONFLICT'));
    }
    if (isBadInputDatabaseError(err)) {
      req.log.warn({ err }, 'database refused a value of the request');
      return reply.code(400).send(errorBody('VALIDATION_FAILED'));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL'));
  });
}
