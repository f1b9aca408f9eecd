import { z } from 'zod';
import { Timestamp } from './event.ts';

/** What goes to the dead-letter topic: the raw input, where it came from, and why it was refused. */
export const DeadLetter = z.object({
  '@timestamp': Timestamp,
  stage: z.enum(['collector', 'detector', 'indexer', 'federation']),
  source: z.string().max(256),
  reason: z.string().max(4096),
  raw: z.string().max(1_048_576),
  line: z.number().int().optional(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
