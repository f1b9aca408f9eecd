export * from './routes.ts';
export * from './stix.ts';
