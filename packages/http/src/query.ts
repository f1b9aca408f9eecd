import { z } from 'zod';
import { HttpError } from './server.ts';

/**
 * Query strings are validated like bodies: every parameter must be one the route declares. A
 * typo (`severity=critical` for `severity_min`) would otherwise be ignored and silently widen a
 * search to everything; it is a 400 naming the parameter and the valid ones instead.
 */
export function assertKnownParams(params: URLSearchParams, allowed: Iterable<string>): void {
  const known = new Set(allowed);
  for (const key of new Set(params.keys())) {
    if (!known.has(key)) {
      throw new HttpError(400, `unknown query parameter ${JSON.stringify(key.slice(0, 64))} (valid: ${[...known].sort().join(', ') || 'none'})`);
    }
  }
}

/** The first zod issue as `path: message`. */
const issueText = (err: z.ZodError): string => {
  const i = err.issues[0]!;
  return `${i.path.join('.') || '(root)'}: ${i.message}`;
};

/**
 * Parses a query string with an object schema (its keys are the valid parameters; flat strings,
 * so the schema coerces). Unknown parameters and invalid values are a 400 naming them.
 */
export function parseQuery<S extends z.ZodObject>(schema: S, params: URLSearchParams): z.infer<S> {
  assertKnownParams(params, Object.keys(schema.shape));
  const r = schema.safeParse(Object.fromEntries(params));
  if (!r.success) throw new HttpError(400, `invalid query: ${issueText(r.error)}`);
  return r.data;
}
