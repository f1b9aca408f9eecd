import { z } from 'zod';
import { Timestamp } from './event.ts';

/** What goes to the dead-letter topic: the raw input, where it came from, and why it was refused. */
export const DeadLetter = z.object({
  '@timestamp': Timestamp,
  /** Who refused it. `consumer`: a bus consumer outside the named services (tools, tests). */
  stage: z.enum(['collector', 'detector', 'indexer', 'federation', 'consumer']),
  source: z.string().max(256),
  reason: z.string().max(4096),
  raw: z.string().max(1_048_576),
  line: z.number().int().optional(),
  /** Set when a consumer's poison-record policy gave up on a bus record: where it was read, by which group, after how many handler attempts. */
  group: z.string().max(256).optional(),
  topic: z.string().max(256).optional(),
  partition: z.number().int().min(0).optional(),
  offset: z.number().int().min(0).optional(),
  attempts: z.number().int().min(1).optional(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/** Builds a dead letter; the raw input is kept up to the schema's 1 MiB bound. */
export function makeDeadLetter(stage: DeadLetter['stage'], source: string, reason: string, raw: string, line?: number): DeadLetter {
  return {
    '@timestamp': new Date().toISOString(),
    stage,
    source: source.slice(0, 256),
    reason: reason.slice(0, 4096),
    raw: raw.slice(0, 1_048_576),
    ...(line === undefined ? {} : { line }),
  };
}

/** A dead letter as a bus record, keyed by where it came from. */
export const deadLetterRecord = (dl: DeadLetter): { key: string; value: string } => ({ key: dl.source, value: JSON.stringify(dl) });
