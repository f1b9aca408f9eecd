export * from './server.ts';
export * from './ops.ts';
