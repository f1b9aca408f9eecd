export * from './errors.ts';
export * from './metadata.ts';
export * from './metrics.ts';
export * from './model.ts';
export * from './batch.ts';
export * from './eval.ts';
export * from './random.ts';
export * from './bench.ts';
