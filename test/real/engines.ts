/**
 * Starts the development engines (deploy/dev/kafka.sh, deploy/dev/opensearch.sh) in a fresh
 * state directory, in parallel, and hands back the variables that point the suites and services
 * at them. Used by `pnpm test:real` and `pnpm bench real`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEV = join(dirname(fileURLToPath(import.meta.url)), '../../deploy/dev');
export type Engine = 'kafka' | 'opensearch';

export interface DevEngines {
  /** KAFKA_BROKERS, SOC_KAFKA_SASL_*, OPENSEARCH_URL, SOC_DEV_STATE. */
  env: Record<string, string>;
  /** Seconds each engine took from the script's start to answering. */
  startSeconds: Record<Engine, number>;
  stop(): Promise<void>;
}

function script(engine: Engine, cmd: 'start' | 'stop', state: string): Promise<{ code: number; stdout: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(DEV, `${engine}.sh`), cmd], { env: { ...process.env, SOC_DEV_STATE: state }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, seconds: (Date.now() - t0) / 1000 }));
  });
}

const parseEnv = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );

export async function startDevEngines(engines: Engine[] = ['kafka', 'opensearch']): Promise<DevEngines> {
  const state = mkdtempSync(join(tmpdir(), 'soc-engines-'));
  const stop = async () => {
    await Promise.all(engines.map((e) => script(e, 'stop', state).catch(() => undefined)));
    rmSync(state, { recursive: true, force: true });
  };
  const started = await Promise.all(engines.map((e) => script(e, 'start', state)));
  const failed = engines.filter((_, i) => started[i]!.code !== 0);
  if (failed.length > 0) {
    await stop();
    throw new Error(`could not start ${failed.join(' and ')} (see the lines above)`);
  }
  const env = Object.assign({ SOC_DEV_STATE: state }, ...started.map((s) => parseEnv(s.stdout))) as Record<string, string>;
  const startSeconds = Object.fromEntries(engines.map((e, i) => [e, started[i]!.seconds])) as Record<Engine, number>;
  return { env, startSeconds, stop };
}
