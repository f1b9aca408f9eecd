import { z } from 'zod';

const Ids = z.array(z.string().max(64)).max(32);
const Names = z.array(z.string().max(256)).max(32);

/**
 * ECS `threat.*` as an alert carries it: the MITRE ATT&CK tactics and techniques the evidence
 * points to. ECS puts sub-techniques (T1568.002) under `threat.technique.subtechnique`.
 */
export const Threat = z.object({
  framework: z.string().max(64),
  tactic: z.object({ id: Ids, name: Names }).partial().optional(),
  technique: z
    .object({ id: Ids, name: Names, subtechnique: z.object({ id: Ids, name: Names }).partial().optional() })
    .partial()
    .optional(),
});
export type Threat = z.infer<typeof Threat>;
