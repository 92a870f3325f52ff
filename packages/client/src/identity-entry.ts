export * from './identity';
export * from './idb-keystore';
export * from './escrow-admin';
export * from './mail/mailer';
export * from './mail/mime';
export * from './mail/search';
export * from './discovery';
export * from './mail/organise';
