import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EvidenceCalibration } from '@soc/signals';

/** The shipped evidence reference (models/evidence-reference-v1.json, built by `pnpm model:reference`). */
export const REFERENCE_PATH = new URL('./evidence-reference-v1.json', import.meta.url);

export function loadReference(path: string | URL = REFERENCE_PATH): EvidenceCalibration {
  return EvidenceCalibration.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/**
 * The shipped reference as the model registry lists it (`soc model list`, `GET /v1/models`): what
 * the detector runs before any site fit — its threshold, budget and the benign days it was fitted on.
 */
export function describeReference(path: string | URL = REFERENCE_PATH): { path: string; metrics: Record<string, unknown> } {
  const c = loadReference(path);
  return {
    path: typeof path === 'string' ? path : fileURLToPath(path),
    metrics: {
      model: 'evidence-reference-v1', kind: c.kind, format: c.format, threshold: c.threshold, tau: c.tau, budget: c.budget,
      priors: Object.keys(c.tails).sort(), baseline: c.baseline,
    },
  };
}
