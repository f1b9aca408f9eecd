import { readFileSync } from 'node:fs';
import { EvidenceCalibration } from '@soc/signals';

/** The shipped evidence reference (models/evidence-reference-v1.json, built by `pnpm model:reference`). */
export const REFERENCE_PATH = new URL('./evidence-reference-v1.json', import.meta.url);

export function loadReference(path: string | URL = REFERENCE_PATH): EvidenceCalibration {
  return EvidenceCalibration.parse(JSON.parse(readFileSync(path, 'utf8')));
}
