import { writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitReference, type EvidenceCalibration } from '@soc/signals';
import { flowsOf, readZeekEvents } from './zeek-files.ts';

/**
 * `pnpm model:reference [DIR...]`: fits the shipped evidence reference — the priors' tails, the usage
 * table and the out-of-the-box threshold — on real benign workstation days (default: the
 * ctu-normal captures of ../shared/data/zeek-real). Deterministic: same files, same JSON.
 */
const here = dirname(fileURLToPath(import.meta.url));
export const REFERENCE_CAPTURES = ['ctu-normal-40-day1', 'ctu-normal-42-day2', 'ctu-normal-44-day2'];

export async function buildReference(dirs: string[]): Promise<EvidenceCalibration> {
  const streams = [];
  for (const d of dirs) streams.push(flowsOf(await readZeekEvents([resolve(d, 'conn.log.gz')])));
  return fitReference(streams, { sources: dirs.map((d) => `zeek-real/${basename(d)}`) });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dirs = args.length ? args : REFERENCE_CAPTURES.map((c) => resolve(here, '../../shared/data/zeek-real', c));
  const c = await buildReference(dirs);
  writeFileSync(resolve(here, 'evidence-reference-v1.json'), `${JSON.stringify(c, null, 1)}\n`);
  process.stdout.write(`${JSON.stringify({ threshold: c.threshold, baseline: c.baseline, scanFanout: c.scanFanout })}\n`);
}
