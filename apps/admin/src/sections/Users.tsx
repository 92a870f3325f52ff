import { NotYet } from './NotYet';

/** Users: create, invite, suspend, delete, roles, quotas and aliases. */
export function Users() {
  return <NotYet label="Users" />;
}
