export * from './docker.ts';
export * from './engines.ts';
