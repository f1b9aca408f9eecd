export * from './routes.ts';
export * from './stix.ts';
export * from './console.ts';
export { taxiiRoutes, TAXII_PREFIX, type TaxiiOptions } from './taxii/routes.ts';
