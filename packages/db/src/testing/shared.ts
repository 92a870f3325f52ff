/** The migrated template every test database is cloned from. */
export const TEMPLATE_DB = 'sealmail_template';
