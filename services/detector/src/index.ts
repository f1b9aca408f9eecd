export * from './signatures.ts';
export * from './detector.ts';
