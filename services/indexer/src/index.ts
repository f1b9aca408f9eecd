export * from './indexer.ts';
