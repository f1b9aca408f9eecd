export * from './signatures.ts';
export * from './detector.ts';
export * from './anomaly.ts';
export * from './site.ts';
export * from './site-switch.ts';
export * from './groups.ts';
export * from './evidence.ts';
export * from './explain.ts';
