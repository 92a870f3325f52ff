import { Domains } from '../Domains';

/** Domains: the account's domains and their mail settings. */
export function DomainsSection() {
  return <Domains />;
}
