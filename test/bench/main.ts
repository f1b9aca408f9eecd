import { benchPipeline } from './pipeline.ts';

/**
 * `pnpm bench`: every figure comes with a baseline measured in the same run, because the
 * machine is shared and noisy; compare ratios, not absolute numbers.
 */
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

const results: Record<string, unknown> = { node: process.version, cpus: (await import('node:os')).cpus().length };
if (want('pipeline')) results.pipeline = await benchPipeline();
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
