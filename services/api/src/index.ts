export * from './routes.ts';
export * from './stix.ts';
export * from './console.ts';
