export * from './event.ts';
export * from './alert.ts';
export * from './threat.ts';
export * from './ids.ts';
export * from './deadletter.ts';
export * from './topics.ts';
export { z } from 'zod';
export * from './decode.ts';
