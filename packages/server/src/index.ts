export * from './config';
export * from './logger';
export * from './tls';
export * from './webhost';
export * from './passwords';
export * from './process';
export * from './http-edge';
export * from './cookies';
