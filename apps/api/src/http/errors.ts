/**
 * Maps everything that can go wrong in a request onto the error registry of
 * packages/contract. No stack trace or internal message ever reaches a client.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, errorBody, type ErrorCode } from '@sealmail/contract';

/** Fastify's own error codes → ours. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

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
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL'));
  });
}
