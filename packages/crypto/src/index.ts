export * from './errors';
export * from './encoding';
export * from './ed25519';
export * from './xwing';
export * from './hpke';
export * from './aead-stream';
