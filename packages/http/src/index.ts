export * from './server.ts';
export * from './ops.ts';
export * from './query.ts';
export * from './tls.ts';
