export * from './errors';
export * from './routes';
export * from './mail';
export * from './blocking';
export * from './lists';
export * from './text';
export * from './account';
export * from './calendar';
