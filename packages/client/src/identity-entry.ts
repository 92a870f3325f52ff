export * from './identity';
export * from './idb-keystore';
