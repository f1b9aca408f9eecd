import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from '@soc/errors';

/**
 * Reads a JSON settings file (credentials, trust list, sharing policy) and validates it. Any
 * failure, unreadable, not JSON or not valid, stops start-up with a ConfigError naming the
 * file, the setting and the first problem.
 */
export function readJsonConfig<T>(path: string, schema: z.ZodType<T>, what: string, field: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`, field);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ConfigError(`invalid ${what} ${path}: ${i.path.join('.') || '(root)'}: ${i.message}`, field);
  }
  return parsed.data;
}
