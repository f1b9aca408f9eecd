import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKddLine } from '@soc/features';
import { loadModel, rng } from '@soc/model';
import { DEFAULT_CONFIG, trainModel, type TrainConfig } from './pipeline.ts';

/** Self-made NSL-KDD-format text: normal web/DNS/mail traffic and SYN-flood records, seeded. */
function syntheticKdd(n: number, seed: number): string {
  const random = rng(seed);
  const int = (a: number, b: number) => a + Math.floor(random() * (b - a));
  const rate = () => (random() * 0.1).toFixed(2);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const attack = random() < 0.2;
    const [proto, svc, flag] = attack ? ['tcp', 'private', 'S0'] : ([['tcp', 'http', 'SF'], ['udp', 'domain_u', 'SF'], ['tcp', 'smtp', 'SF']] as const)[int(0, 3)]!;
    const cnt = attack ? int(100, 250) : int(1, 20);
    const err = attack ? '1.00' : '0.00';
    const f = [int(0, 3), proto, svc, flag, attack ? 0 : int(100, 3000), attack ? 0 : int(0, 20000), 0, ...Array<number>(15).fill(0),
      cnt, int(1, cnt + 1), err, err, '0.00', '0.00', attack ? rate() : '1.00', rate(), rate(),
      255, int(1, 255), rate(), rate(), rate(), rate(), err, err, '0.00', '0.00'];
    lines.push(`${f.join(',')},${attack ? 'neptune' : 'normal'},${int(10, 21)}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

const SMALL: TrainConfig = { ...DEFAULT_CONFIG, epochs: 3 };
const TEXT = syntheticKdd(600, 11);

describe('trainModel', () => {
  it('is deterministic: same seed, same bytes; another seed, other bytes', () => {
    const a = trainModel(TEXT, 'synthetic.txt', SMALL);
    const b = trainModel(TEXT, 'synthetic.txt', SMALL);
    expect(Buffer.from(a.onnx).equals(Buffer.from(b.onnx))).toBe(true);
    expect(a.metadata).toEqual(b.metadata);
    const c = trainModel(TEXT, 'synthetic.txt', { ...SMALL, seed: SMALL.seed + 1 });
    expect(Buffer.from(a.onnx).equals(Buffer.from(c.onnx))).toBe(false);
  });

  it('exports an ONNX graph that loads and scores like the training code', async () => {
    const t = trainModel(TEXT, 'synthetic.txt', SMALL);
    expect(t.losses.at(-1)!).toBeLessThan(t.losses[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'soc-train-'));
    const path = join(dir, 'm.onnx');
    writeFileSync(path, t.onnx);
    writeFileSync(join(dir, 'm.json'), JSON.stringify(t.metadata));
    const model = await loadModel(path);
    try {
      const sample = TEXT.split('\n').slice(0, 200).map(parseKddLine).filter((r) => r !== null).map((r) => r.vector);
      // An unseen service and an unknown protocol (-1) exercise the one-hot edge cases.
      sample.push(Float32Array.from(sample[0]!, (v, i) => (i === 1 ? -1 : i === 2 ? 69 : v)));
      const onnxScores = await model.score(sample);
      sample.forEach((v, i) => {
        const ts = t.score(v);
        expect(Math.abs(onnxScores[i]!.score - ts.score) / ts.score).toBeLessThan(1e-3);
        const top = onnxScores[i]!.top[0]!;
        const tsTop = ts.featureErrors.indexOf(Math.max(...ts.featureErrors));
        expect(top.name).toBe(t.metadata.features[tsTop]);
      });
    } finally {
      await model.close();
    }
  });
});
