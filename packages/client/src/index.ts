export * from './api';
export * from './identity';
