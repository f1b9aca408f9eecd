export * from './ast.ts';
export * from './fields.ts';
export { parseEventQuery, parseQuery, tokenize, QueryError } from './parse.ts';
export { evaluate, globMatches, compare } from './evaluate.ts';
