// The API client: safe for any bundle. Key handling lives in '@sealmail/client/identity' and is
// imported only by the key worker and the CLI, so UI bundles carry no key code.
export * from './api';
