import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@soc/errors';
import { SocConfig, type SocConfigInput } from './schema.ts';

type Plain = Record<string, unknown>;

/**
 * Environment variables and the config path each one sets. Explicit rather than derived so
 * operators can grep for them and so a misspelt variable is not silently half-applied.
 */
export const ENV_MAP: Record<string, string> = {
  SOC_DATA_DIR: 'dataDir',
  SOC_ID: 'soc.id',
  SOC_COUNTRY: 'soc.country',
  SOC_NAME: 'soc.name',
  SOC_BUS: 'bus.kind',
  SOC_BUS_PATH: 'bus.path',
  KAFKA_BROKERS: 'bus.kafka.brokers',
  KAFKA_CLIENT_ID: 'bus.kafka.clientId',
  KAFKA_SSL_CA_FILE: 'bus.kafka.ssl.caFile',
  KAFKA_SSL_CERT_FILE: 'bus.kafka.ssl.certFile',
  KAFKA_SSL_KEY_FILE: 'bus.kafka.ssl.keyFile',
  KAFKA_SASL_MECHANISM: 'bus.kafka.sasl.mechanism',
  KAFKA_SASL_USERNAME: 'bus.kafka.sasl.username',
  KAFKA_SASL_PASSWORD: 'bus.kafka.sasl.password',
  KAFKA_SASL_PASSWORD_FILE: 'bus.kafka.sasl.passwordFile',
  SOC_TOPIC_PARTITIONS: 'topics.partitions',
  SOC_TOPIC_REPLICATION_FACTOR: 'topics.replicationFactor',
  SOC_TOPIC_RETENTION_MS: 'topics.retentionMs',
  SOC_STORE: 'store.kind',
  SOC_STORE_PATH: 'store.path',
  ELASTICSEARCH_URL: 'store.elasticsearch.node',
  ELASTICSEARCH_API_KEY: 'store.elasticsearch.apiKey',
  ELASTICSEARCH_API_KEY_FILE: 'store.elasticsearch.apiKeyFile',
  ELASTICSEARCH_USERNAME: 'store.elasticsearch.username',
  ELASTICSEARCH_PASSWORD: 'store.elasticsearch.password',
  ELASTICSEARCH_PASSWORD_FILE: 'store.elasticsearch.passwordFile',
  ELASTICSEARCH_CA_FILE: 'store.elasticsearch.caFile',
  ELASTICSEARCH_INDEX: 'store.elasticsearch.index',
  OPENSEARCH_URL: 'store.opensearch.node',
  OPENSEARCH_USERNAME: 'store.opensearch.username',
  OPENSEARCH_PASSWORD: 'store.opensearch.password',
  OPENSEARCH_PASSWORD_FILE: 'store.opensearch.passwordFile',
  OPENSEARCH_CA_FILE: 'store.opensearch.caFile',
  OPENSEARCH_INDEX: 'store.opensearch.index',
  SOC_API_HOST: 'api.host',
  SOC_API_PORT: 'api.port',
  SOC_COLLECTOR_HOST: 'collector.host',
  SOC_COLLECTOR_PORT: 'collector.port',
  SOC_COLLECTOR_MAX_BODY_BYTES: 'collector.maxBodyBytes',
  SOC_SYSLOG_ENABLED: 'collector.syslog.enabled',
  SOC_SYSLOG_HOST: 'collector.syslog.host',
  SOC_SYSLOG_UDP_PORT: 'collector.syslog.udpPort',
  SOC_SYSLOG_TCP_PORT: 'collector.syslog.tcpPort',
  SOC_SYSLOG_MAX_MESSAGE_BYTES: 'collector.syslog.maxMessageBytes',
  SOC_SYSLOG_RECV_BUFFER_SIZE: 'collector.syslog.recvBufferSize',
  SOC_SYSLOG_UDP_MAX_QUEUED_BYTES: 'collector.syslog.udpMaxQueuedBytes',
  SOC_SYSLOG_UDP_RECEIVER_NICE: 'collector.syslog.udpReceiverNice',
  SOC_SYSLOG_BATCH_SIZE: 'collector.syslog.batchSize',
  SOC_SYSLOG_LINGER_MS: 'collector.syslog.lingerMs',
  SOC_SYSLOG_MAX_CONNECTIONS: 'collector.syslog.maxConnections',
  SOC_SYSLOG_IDLE_TIMEOUT_SECONDS: 'collector.syslog.idleTimeoutSeconds',
  SOC_SYSLOG_TLS_PORT: 'collector.syslog.tls.port',
  SOC_SYSLOG_TLS_CERT_FILE: 'collector.syslog.tls.certFile',
  SOC_SYSLOG_TLS_KEY_FILE: 'collector.syslog.tls.keyFile',
  SOC_SYSLOG_TLS_CLIENT_CA_FILE: 'collector.syslog.tls.clientCaFile',
  SOC_SYSLOG_TLS_CLIENT_CERT: 'collector.syslog.tls.clientCert',
  SOC_COLLECTOR_TLS_CERT_FILE: 'collector.tls.certFile',
  SOC_COLLECTOR_TLS_KEY_FILE: 'collector.tls.keyFile',
  SOC_COLLECTOR_TLS_CLIENT_CA_FILE: 'collector.tls.clientCaFile',
  SOC_COLLECTOR_TLS_CLIENT_CERT: 'collector.tls.clientCert',
  SOC_API_TLS_CERT_FILE: 'api.tls.certFile',
  SOC_API_TLS_KEY_FILE: 'api.tls.keyFile',
  SOC_API_TLS_CLIENT_CA_FILE: 'api.tls.clientCaFile',
  SOC_API_TLS_CLIENT_CERT: 'api.tls.clientCert',
  SOC_MODEL_PATH: 'detector.modelPath',
  SOC_DETECTOR_ANOMALY: 'detector.anomaly',
  SOC_DETECTOR_BATCH_SIZE: 'detector.batchSize',
  SOC_DETECTOR_LINGER_MS: 'detector.lingerMs',
  SOC_INTERNAL_CIDRS: 'detector.internalCidrs',
  SOC_FEDERATION_ENABLED: 'federation.enabled',
  SOC_FEDERATION_SHARED_BUS: 'federation.sharedBusPath',
  SOC_FEDERATION_PRIVATE_KEY_FILE: 'federation.privateKeyFile',
  SOC_FEDERATION_TRUST_LIST_FILE: 'federation.trustListFile',
  SOC_FEDERATION_POLICY_FILE: 'federation.policyFile',
};

const BOOLEAN_PATHS = new Set(['collector.syslog.enabled', 'detector.anomaly', 'federation.enabled']);

export function setPath(target: Plain, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Plain;
  }
  node[keys[keys.length - 1]!] = value;
}

export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Plain, v as Plain)
        : v;
  }
  return out;
}

function parseEnvValue(path: string, raw: string, envName: string): unknown {
  if (!BOOLEAN_PATHS.has(path)) return raw;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${envName}: expected true or false, got "${raw}"`, path);
}

export function configFromEnv(env: NodeJS.ProcessEnv): { values: Plain; sources: Map<string, string> } {
  const values: Plain = {};
  const sources = new Map<string, string>();
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(values, path, parseEnvValue(path, raw, name));
    sources.set(path, name);
  }
  // Choosing a production backend by its URL alone is what operators expect.
  if (env.KAFKA_BROKERS && !env.SOC_BUS) setPath(values, 'bus.kind', 'kafka');
  if (env.ELASTICSEARCH_URL && env.OPENSEARCH_URL && !env.SOC_STORE) {
    throw new ConfigError('both ELASTICSEARCH_URL and OPENSEARCH_URL are set (keep one, or choose with SOC_STORE)', 'store.kind');
  }
  if (env.ELASTICSEARCH_URL && !env.SOC_STORE) setPath(values, 'store.kind', 'elasticsearch');
  if (env.OPENSEARCH_URL && !env.SOC_STORE) setPath(values, 'store.kind', 'opensearch');
  return { values, sources };
}

export interface LoadOptions {
  /** JSON config file; also taken from SOC_CONFIG. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence (command-line flags). */
  overrides?: SocConfigInput | Plain;
}

/** defaults < file < environment < overrides; a bad value stops start-up naming the field. */
export function loadConfig(opts: LoadOptions = {}): SocConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.SOC_CONFIG;
  let fromFile: Plain = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Plain;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`, 'config');
    }
  }
  const { values: fromEnv, sources } = configFromEnv(env);
  const merged = deepMerge(deepMerge(fromFile, fromEnv), (opts.overrides ?? {}) as Plain);
  const parsed = SocConfig.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(root)';
    const envName = [...sources].find(([path]) => field === path || field.startsWith(`${path}.`))?.[1];
    const via = envName ? ` (from ${envName})` : file ? ` (check ${file})` : '';
    throw new ConfigError(`invalid configuration: ${field}${via}: ${issue.message}`, field);
  }
  const cfg = parsed.data;
  cfg.dataDir = isAbsolute(cfg.dataDir) ? cfg.dataDir : resolve(cfg.dataDir);
  return cfg;
}

/** Reads a secret given inline or by file (files are how orchestrators mount secrets). */
export function readSecret(inline: string | undefined, file: string | undefined, field: string): string | undefined {
  if (inline) return inline;
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${field}: cannot read secret file ${file}: ${(err as Error).message}`, field);
  }
}
