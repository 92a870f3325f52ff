// Server-side mail storage shared by the API and the SMTP ingress (docs/mail.md): the blob store,
// quota accounting, and storing a sealed mail for its holders.
export * from './blob-store';
export * from './quota';
export * from './store';
export * from './group-commit';
export * from './delivery-facts';
export * from './events';
export * from './cache-notify';
export * from './server-keys';
export * from './deliver-local';
export * from './mime-stream';
export * from './attachment-parts';
export * from './held';
export * from './secret-box';
export * from './filters';
export * from './out-of-office';
export * from './lists';
export * from './loop-marks';
export * from './s3-blob-store';
export * from './disk-blob-store';
export * from './blob-store-config';
export * from './blob-migrate';
export * from './seal-job';
export * from './seal-pool';
