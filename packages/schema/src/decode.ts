import type { z } from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Describes the first zod issue as `path: message`, the form every dead letter uses. */
export const describeIssue = (err: z.ZodError): string => {
  const i = err.issues[0]!;
  return `${i.path.join('.') || '(root)'}: ${i.message}`;
};

/** Parses JSON text and validates it; never throws. */
export function decodeJson<T>(schema: z.ZodType<T>, text: string, what: string): Decoded<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${what} is not valid JSON: ${(err as Error).message}` };
  }
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, reason: `invalid ${what}: ${describeIssue(r.error)}` };
}
