import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiError, errorBody, errorCodes, errorRegistry, isErrorBody } from '../src/errors';

const doc = readFileSync(new URL('../../../docs/api-errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const),
);

describe('error registry', () => {
  it('documents every code with its status in docs/api-errors.md, and nothing else', () => {
    expect([...documented.keys()].sort()).toEqual([...errorCodes].sort());
    for (const code of errorCodes) expect(documented.get(code), code).toBe(errorRegistry[code].status);
  });

  it('maps each code to a 4xx/5xx status and a message', () => {
    for (const code of errorCodes) {
      const { status, message } = errorRegistry[code];
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(message.length).toBeGreaterThan(5);
    }
  });

  it('builds bodies that clients recognise', () => {
    const body = errorBody('VALIDATION_FAILED', 'body.addresses.0');
    expect(body).toEqual({ error: { code: 'VALIDATION_FAILED', message: errorRegistry.VALIDATION_FAILED.message, field: 'body.addresses.0' } });
    expect(isErrorBody(body)).toBe(true);
    expect(isErrorBody({ error: { code: 'NO_SUCH_CODE', message: 'x' } })).toBe(false);
    expect(isErrorBody({ message: 'x' })).toBe(false);
    expect(new ApiError('NOT_FOUND').status).toBe(404);
  });
});
