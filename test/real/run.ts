/**
 * `pnpm test:real`: starts a Kafka broker and an OpenSearch node from the Maven Central jars,
 * runs every real-backend suite against them with SOC_REAL_REQUIRED=1 (a suite that cannot
 * reach its engine fails instead of skipping), fails if any test was skipped, and stops both
 * engines whatever happens. Extra arguments go to vitest (e.g. a file filter).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevEngines } from './engines.ts';

/** Every suite that needs a real engine; each declares what it needs through @soc/testkit. */
export const REAL_SUITES = [
  'packages/bus/src/kafka.real.test.ts',
  'packages/store/src/opensearch.real.test.ts',
  'test/e2e/real-backends.test.ts',
  'test/e2e/real-faults.test.ts',
];

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  process.stderr.write('test:real: starting Kafka and OpenSearch\n');
  const engines = await startDevEngines();
  const stopOnSignal = () => void engines.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const out = mkdtempSync(join(tmpdir(), 'soc-test-real-'));
  try {
    process.stderr.write(`test:real: engines up (kafka ${engines.startSeconds.kafka.toFixed(1)} s, opensearch ${engines.startSeconds.opensearch.toFixed(1)} s)\n`);
    const report = join(out, 'report.json');
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('pnpm', ['exec', 'vitest', 'run', ...REAL_SUITES, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
        env: { ...process.env, ...engines.env, SOC_REAL_REQUIRED: '1', SOC_KAFKA_CONTROL: '1' },
        stdio: 'inherit',
      });
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    const r = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
    const skipped = r.numPendingTests + r.numTodoTests;
    process.stderr.write(`test:real: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    if (code !== 0) return code;
    if (skipped > 0) {
      process.stderr.write('soc: test:real skipped tests (every real suite must run here)\n');
      return 1;
    }
    return r.numTotalTests > 0 ? 0 : 1;
  } finally {
    await engines.stop();
    rmSync(out, { recursive: true, force: true });
    process.stderr.write('test:real: engines stopped\n');
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soc: test:real failed (${(err as Error).message})\n`);
    process.exit(1);
  },
);
