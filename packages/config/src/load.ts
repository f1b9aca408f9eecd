import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@soc/errors';
import { Role } from './credentials.ts';
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
  SOC_COLLECTOR_PARSE_THREADS: 'collector.parseThreads',
  SOC_COLLECTOR_PARSE_THREAD_NICE: 'collector.parseThreadNice',
  SOC_COLLECTOR_PRESERVE_ORIGINAL: 'collector.preserveOriginal',
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
  SOC_DETECTOR_THREAD_NICE: 'detector.threadNice',
  SOC_INTERNAL_CIDRS: 'detector.internalCidrs',
  SOC_FEDERATION_ENABLED: 'federation.enabled',
  SOC_FEDERATION_SHARED_BUS: 'federation.sharedBusPath',
  SOC_FEDERATION_PRIVATE_KEY_FILE: 'federation.privateKeyFile',
  SOC_FEDERATION_TRUST_LIST_FILE: 'federation.trustListFile',
  SOC_FEDERATION_POLICY_FILE: 'federation.policyFile',
};

/**
 * `SOC_*` variables the product reads that are not settings: tokens, the config path, logging,
 * the container health check, `soc replay`'s target, the CLI's debug switch, and the
 * pseudonym-key variable the federation README's policy example names. Any other `SOC_*`
 * variable is a typo of a setting and stops start-up instead of being silently ignored.
 */
export const OTHER_SOC_ENV: readonly string[] = [
  'SOC_CONFIG',
  // One token list per role (credentialsFromEnv), so a new role cannot be forgotten here.
  ...Role.options.map((role) => `SOC_${role.toUpperCase()}_TOKENS`),
  'SOC_SENSOR_TOKEN',
  'SOC_ANALYST_TOKEN',
  'SOC_TAXII_TOKEN',
  'SOC_URL',
  'SOC_LOG_LEVEL',
  'SOC_DEBUG',
  'SOC_HEALTHCHECK_URL',
  'SOC_HEALTHCHECK_TOKEN',
  'SOC_PSEUDONYM_KEY',
  'SOC_DEMO_RATE',
  // Node flags of the stage threads of `soc start` (profiling: --cpu-prof), and of the soc
  // processes the benchmarks start (test/helpers/soc-process.ts).
  'SOC_STAGE_EXEC_ARGV',
  'SOC_EXEC_ARGV',
  // Test-suite knobs (test/README.md), inherited by the soc processes the tests start.
  'SOC_FAULTS_LONG',
  'SOC_FAULTS_SEED',
  // pnpm test:real and deploy/dev (test/real, packages/testkit), inherited the same way.
  'SOC_DEV_STATE',
  'SOC_DEV_CACHE',
  'SOC_REAL_REQUIRED',
  'SOC_KAFKA_CONTROL',
  'SOC_KAFKA_SASL_BROKERS',
  'SOC_KAFKA_SASL_USERNAME',
  'SOC_KAFKA_SASL_PASSWORD',
  'SOC_BENCH_EVENTS',
];

const BOOLEAN_PATHS = new Set(['collector.syslog.enabled', 'collector.preserveOriginal', 'detector.anomaly', 'federation.enabled']);

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
  const unknown = Object.keys(env).filter((name) => name.startsWith('SOC_') && !(name in ENV_MAP) && !OTHER_SOC_ENV.includes(name)).sort();
  if (unknown.length) {
    throw new ConfigError(`unknown environment variable ${unknown.join(', ')}: not a setting (the SOC_* variables are listed in packages/config/README.md)`, unknown[0]!);
  }
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
  // SOC_BUS / SOC_STORE choose one adapter explicitly: the environment's settings for the others
  // (KAFKA_*, ELASTICSEARCH_*, OPENSEARCH_* set for another deployment) do not apply to it.
  for (const [port, chosen] of [['bus', env.SOC_BUS], ['store', env.SOC_STORE]] as const) {
    const section = values[port] as Plain | undefined;
    if (!chosen || !section) continue;
    for (const key of Object.keys(section)) if (key !== 'kind' && key !== 'path' && key !== chosen) delete section[key];
  }
  return { values, sources };
}

export interface LoadOptions {
  /** JSON config file; also taken from SOC_CONFIG. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence (command-line flags). */
  overrides?: SocConfigInput | Plain;
}

/** What a zod schema node exposes that `settingsAt` needs (zod 4 internals, read only). */
interface SchemaNode {
  def?: { innerType?: SchemaNode; out?: SchemaNode; type?: string };
  shape?: Record<string, SchemaNode>;
  options?: SchemaNode[];
  element?: SchemaNode;
}

/** Through defaults, optionals and preprocessing to the object (or union, array) beneath. */
function inner(node: SchemaNode | undefined): SchemaNode | undefined {
  let n = node;
  while (n?.def?.innerType || n?.def?.type === 'pipe') n = n.def.innerType ?? n.def.out;
  return n;
}

/** The keys an object schema (or any member of a union of them) declares. */
function keysOf(node: SchemaNode | undefined): Record<string, SchemaNode> {
  const n = inner(node);
  if (!n) return {};
  return n.shape ?? Object.assign({}, ...(n.options ?? []).map(keysOf));
}

/** The settings valid at a config path, for naming them next to a misspelt one. */
function settingsAt(path: readonly PropertyKey[]): Record<string, SchemaNode> {
  let node: SchemaNode | undefined = SocConfig as unknown as SchemaNode;
  for (const seg of path) node = typeof seg === 'number' ? inner(node)?.element : keysOf(node)[String(seg)];
  return keysOf(node);
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
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`config file ${file} must hold one JSON object of settings`, 'config');
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
    // A misspelt key names itself: "collector.maxBodyByte", not just its parent object.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const named = keys.length ? [issue.path.join('.'), keys[0]].filter(Boolean).join('.') : field;
    const message = keys.length ? `unknown setting${keys.length > 1 ? `s ${keys.map((k) => JSON.stringify(k)).join(', ')}` : ''} (not one of ${Object.keys(settingsAt(issue.path)).join(', ')})` : issue.message;
    throw new ConfigError(`invalid configuration: ${named}${via}: ${message}`, named);
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
