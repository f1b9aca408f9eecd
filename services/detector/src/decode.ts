import type { Decoded, EcsEvent } from '@soc/schema';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decodes an event from the events topic. Events were validated against the schema once, by the
 * collector at the boundary, so the detector trusts their types and checks only the shape every
 * analyzer relies on: a record written by something else (or corrupted) is dead-lettered with a
 * reason instead of throwing inside an analyzer, and never blocks the consumer.
 */
export function decodeEvent(text: string): Decoded<EcsEvent> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `event is not valid JSON: ${(err as Error).message}` };
  }
  if (!isObject(v)) return { ok: false, reason: 'invalid event: (root): not an object' };
  if (typeof v['@timestamp'] !== 'string') return { ok: false, reason: 'invalid event: @timestamp: not a string' };
  const e = v.event;
  if (!isObject(e)) return { ok: false, reason: 'invalid event: event: not an object' };
  if (typeof e.id !== 'string' || typeof e.dataset !== 'string' || typeof e.kind !== 'string') return { ok: false, reason: 'invalid event: event.id, event.dataset and event.kind must be strings' };
  if (!Array.isArray(e.category) || !Array.isArray(e.type)) return { ok: false, reason: 'invalid event: event.category and event.type must be arrays' };
  return { ok: true, value: v as EcsEvent };
}
