export * from './identity';
export * from './idb-keystore';
export * from './escrow-admin';
