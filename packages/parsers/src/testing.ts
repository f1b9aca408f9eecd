import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EcsEvent } from '@soc/schema';
import type { ParseOutcome } from './types.ts';

/** Test helpers (not exported from the package). */
export const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8');
export const fixtureLines = (name: string): string[] => fixture(name).split('\n').filter((l) => l !== '');

export function expectOk(o: ParseOutcome | null | undefined): EcsEvent {
  if (!o || !o.ok) throw new Error(`expected an event, got ${JSON.stringify(o)}`);
  return o.event;
}

/** An event without what legitimately differs between two renderings of one record. */
export function identity(e: EcsEvent): unknown {
  const { id: _id, original: _o, ingested: _i, ...event } = e.event;
  return { ...e, event };
}

/** Each JSON line with one field at a time set to values on either side of the schema's bounds. */
export function mutations(lines: string[]): string[] {
  const values: unknown[] = [null, '', {}, [], { a: {} }, -1, 1.5, 65536, 2 ** 53, 1e300, 'x'.repeat(300), '\ud800', '2026-02-30T00:00:00Z', '010.0.0.1', 'fe80::1%eth0', true];
  const out: string[] = [];
  lines.forEach((line, n) => {
    if (!line.startsWith('{')) return;
    const keys = Object.keys(JSON.parse(line) as object);
    keys.forEach((k, i) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      o[k] = values[(n + i) % values.length];
      out.push(JSON.stringify(o));
    });
    out.push(line.replace('{', '{"__proto__":{"x":1},'), line.replace(/}$/, ',"tcp":{},"labels":{"a":{}}}'));
  });
  return out;
}
