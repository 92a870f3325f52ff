import { describe, expect, it } from 'vitest';
import { address, directoryLookup, routes } from '../src/routes';
import { mailRoutes } from '../src/mail';
import { blockingRoutes } from '../src/blocking';
import { composeRoutes } from '../src/compose';
import { listRoutes } from '../src/lists';
import { importRoutes } from '../src/imports';
import { accountRoutes } from '../src/account';
import { domainRoutes } from '../src/domains';
import { adminActivityRoutes } from '../src/admin-activity';
import { escrowAdminRoutes } from '../src/escrow-admins';
import { delegationRoutes } from '../src/delegation';

describe('route contracts', () => {
  it('have unique method+path pairs', () => {
    const keys = [...Object.values(routes), ...Object.values(mailRoutes), ...Object.values(blockingRoutes), ...Object.values(listRoutes), ...Object.values(accountRoutes), ...Object.values(domainRoutes), ...Object.values(adminActivityRoutes), ...Object.values(escrowAdminRoutes), ...Object.values(importRoutes), ...Object.values(delegationRoutes), ...Object.values(composeRoutes)].map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('normalise and check addresses', () => {
    expect(address.parse('  Alice@Example.TEST ')).toBe('alice@example.test');
    for (const bad of ['alice', 'alice@', '@example.test', 'a b@example.test', 'alice@localhost', `${'x'.repeat(65)}@example.test`]) {
      expect(address.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('bound the directory lookup request', () => {
    expect(directoryLookup.body.safeParse({ addresses: [] }).success).toBe(false);
    expect(directoryLookup.body.safeParse({ addresses: Array(101).fill('a@example.test') }).success).toBe(false);
    expect(directoryLookup.body.safeParse({ addresses: ['a@example.test'], extra: 1 }).success).toBe(false);
    expect(directoryLookup.body.parse({ addresses: ['A@example.test'] })).toEqual({ addresses: ['a@example.test'] });
  });
});
