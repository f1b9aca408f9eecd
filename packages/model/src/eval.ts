import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseKddLine, type FeatureVector } from '@soc/features';
import { ValidationError } from '@soc/errors';
import { auroc, confusion } from './metrics.ts';
import type { EvalMetrics } from './metadata.ts';
import type { AnomalyModel } from './model.ts';

const CHUNK = 4096;

/**
 * Scores an NSL-KDD format file (41 features, label, difficulty; CRLF or LF) with the model and
 * its shipped threshold; attack is the positive class.
 */
export async function evaluateKdd(filePath: string, model: AnomalyModel): Promise<EvalMetrics> {
  const scores: number[] = [];
  const attack: boolean[] = [];
  let chunk: FeatureVector[] = [];
  const flush = async () => {
    scores.push(...(await model.rawScores(chunk)));
    chunk = [];
  };
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(filePath), crlfDelay: Infinity })) {
    lineNo++;
    let rec;
    try {
      rec = parseKddLine(line);
    } catch (cause) {
      throw new ValidationError(`${filePath}:${lineNo}: ${(cause as Error).message}`, { cause });
    }
    if (!rec) continue;
    chunk.push(rec.vector);
    attack.push(rec.attack);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  if (scores.length === 0) throw new ValidationError(`${filePath} holds no NSL-KDD records`);
  return { ...confusion(scores, attack, model.threshold), auroc: auroc(scores, attack), threshold: model.threshold };
}
