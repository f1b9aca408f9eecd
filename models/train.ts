import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, trainModel } from './pipeline.ts';

/**
 * `pnpm model:train`: trains the KDD autoencoder on NSL-KDD normals and writes
 * models/<version>.onnx and models/<version>.json. Deterministic: same data and seed, same bytes.
 */
const here = dirname(fileURLToPath(import.meta.url));
const dataFile = resolve(here, '../../shared/data/nsl-kdd/KDDTrain+_20Percent.txt');
const started = performance.now();
const { onnx, metadata, losses } = trainModel(readFileSync(dataFile, 'utf8'), basename(dataFile), DEFAULT_CONFIG);
writeFileSync(resolve(here, `${metadata.version}.onnx`), onnx);
writeFileSync(resolve(here, `${metadata.version}.json`), `${JSON.stringify(metadata, null, 2)}\n`);
process.stdout.write(
  `${JSON.stringify({ version: metadata.version, seconds: +((performance.now() - started) / 1000).toFixed(1), finalLoss: losses.at(-1), validation: metadata.validation, training: metadata.training })}\n`,
);
