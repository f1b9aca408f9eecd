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
