import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dockerAnswers, startElasticsearch, startKafka, type Started } from './docker.ts';

/**
 * Where the real-backend suites find their engines, in this order: the addresses that
 * `pnpm test:real` (test/real/run.ts) exports after starting a broker and a node from the Maven
 * Central jars (KAFKA_BROKERS, OPENSEARCH_URL, or an operator's ELASTICSEARCH_URL); else
 * containers when a Docker engine answers; else the suite is skipped with one line. Under
 * `pnpm test:real` (SOC_REAL_REQUIRED=1) a missing engine fails the suite instead.
 */

export const REAL_REQUIRED = process.env.SOC_REAL_REQUIRED === '1';

/** One line saying why a real suite does not run, or (under `pnpm test:real`) a failure. */
export function unavailable(suite: string, why: string): void {
  if (REAL_REQUIRED) throw new Error(`${suite}: required by pnpm test:real, but ${why}`);
  console.warn(`${suite}: skipped — ${why} (pnpm test:real starts the engines)`);
}

export interface KafkaEngine extends Started {
  brokers: string[];
  /** The SASL/PLAIN listener of a broker started by deploy/dev/kafka.sh. */
  sasl?: { brokers: string[]; username: string; password: string };
}

export type KafkaSource = () => Promise<KafkaEngine>;

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
const nothingToStop = async () => undefined;

/** A way to reach Kafka, or null when there is none. */
export async function findKafka(env: NodeJS.ProcessEnv = process.env): Promise<KafkaSource | null> {
  const brokers = list(env.KAFKA_BROKERS);
  if (brokers.length > 0) {
    const saslBrokers = list(env.SOC_KAFKA_SASL_BROKERS);
    const sasl =
      saslBrokers.length > 0 && env.SOC_KAFKA_SASL_USERNAME && env.SOC_KAFKA_SASL_PASSWORD
        ? { brokers: saslBrokers, username: env.SOC_KAFKA_SASL_USERNAME, password: env.SOC_KAFKA_SASL_PASSWORD }
        : undefined;
    return async () => ({ brokers, ...(sasl ? { sasl } : {}), stop: nothingToStop });
  }
  return (await dockerAnswers(env)) ? startKafka : null;
}

export interface SearchEngineNode extends Started {
  kind: 'opensearch' | 'elasticsearch';
  url: string;
}

export type SearchSource = () => Promise<SearchEngineNode>;

/** The alert index the suites use: OpenSearch, else Elasticsearch, from the environment; else an Elasticsearch container. */
export async function findSearchEngine(env: NodeJS.ProcessEnv = process.env): Promise<SearchSource | null> {
  if (env.OPENSEARCH_URL) return async () => ({ kind: 'opensearch', url: env.OPENSEARCH_URL!, stop: nothingToStop });
  if (env.ELASTICSEARCH_URL) return async () => ({ kind: 'elasticsearch', url: env.ELASTICSEARCH_URL!, stop: nothingToStop });
  return (await dockerAnswers(env)) ? async () => ({ kind: 'elasticsearch', ...(await startElasticsearch()) }) : null;
}

const KAFKA_SH = join(dirname(fileURLToPath(import.meta.url)), '../../../deploy/dev/kafka.sh');
const run = promisify(execFile);

/**
 * Stops and starts the broker that `pnpm test:real` started (same port, same log dir), for the
 * fault tests; null when the broker is not ours to stop (SOC_KAFKA_CONTROL unset).
 */
export function kafkaControl(env: NodeJS.ProcessEnv = process.env): { stop(): Promise<void>; start(): Promise<void> } | null {
  if (env.SOC_KAFKA_CONTROL !== '1') return null;
  const sh = async (cmd: 'start' | 'stop') => {
    await run('bash', [KAFKA_SH, cmd], { env, timeout: 240_000 });
  };
  return { stop: () => sh('stop'), start: () => sh('start') };
}
