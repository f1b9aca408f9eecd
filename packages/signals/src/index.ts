export * from './net.ts';
export * from './stats.ts';
export * from './lru.ts';
export * from './tracker.ts';
export * from './calibrate.ts';
export * from './engine.ts';
export * from './bench.ts';
