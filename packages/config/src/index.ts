export * from './schema.ts';
export * from './load.ts';
export * from './credentials.ts';
export * from './json-file.ts';
