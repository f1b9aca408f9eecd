import { z } from 'zod';
import { parseCidr } from '@soc/netaddr';

/**
 * Every setting of every service, validated at start-up. Secrets never appear here as values
 * in code: they come from the environment, from files named by `*File` settings, or from the
 * credentials file generated in the data directory.
 */

const Port = z.coerce.number().int().min(0).max(65535);
const Host = z.string().min(1).default('127.0.0.1');
const PositiveInt = z.coerce.number().int().positive();

export const SocIdentityConfig = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, . _ - (max 63)').default('soc-local'),
  country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 code, e.g. EE').default('EU'),
  name: z.string().min(1).max(256).default('Local SOC'),
});

export const TopicsConfig = z.strictObject({
  partitions: PositiveInt.default(4),
  replicationFactor: PositiveInt.default(1),
  retentionMs: PositiveInt.default(7 * 24 * 3600 * 1000),
  retentionBytes: z.coerce.number().int().positive().optional(),
});

export const KafkaConfig = z.strictObject({
  brokers: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(z.string().min(1)).min(1)),
  clientId: z.string().default('soc'),
  ssl: z
    .strictObject({
      caFile: z.string().optional(),
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  sasl: z
    .strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().min(1).optional(),
      passwordFile: z.string().optional(),
    })
    .optional(),
  allowTopicCreation: z.boolean().default(true),
});

export const BusConfig = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('embedded'), path: z.string().optional() }),
  z.strictObject({ kind: z.literal('kafka'), kafka: KafkaConfig }),
]);

export const ElasticsearchConfig = z.strictObject({
  node: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(z.url()).min(1)),
  apiKey: z.string().optional(),
  apiKeyFile: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  passwordFile: z.string().optional(),
  caFile: z.string().optional(),
  index: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/).default('soc-alerts'),
});

/** OpenSearch takes the same connection settings, with basic auth only (no API keys). */
export const OpenSearchConfig = ElasticsearchConfig.omit({ apiKey: true, apiKeyFile: true });

export const StoreConfig = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('embedded'), path: z.string().optional() }),
  z.strictObject({ kind: z.literal('elasticsearch'), elasticsearch: ElasticsearchConfig }),
  z.strictObject({ kind: z.literal('opensearch'), opensearch: OpenSearchConfig }),
]);

export const RateLimitConfig = z.strictObject({
  /** Sustained events per second per sensor token. */
  eventsPerSecond: PositiveInt.default(200_000),
  burst: PositiveInt.default(400_000),
});

/**
 * A TLS listener's own certificate and, for mutual TLS, the CA bundle client certificates must
 * chain to. Files are re-read on SIGHUP; connections already open keep their session.
 */
const TlsFields = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  clientCaFile: z.string().min(1).optional(),
  /** none: no client certificate asked; optional: asked, verified when given; required: no handshake without one. */
  clientCert: z.enum(['none', 'optional', 'required']).default('none'),
  /** Highest protocol offered; TLS 1.2 is always the floor. */
  maxVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.3'),
});
const needsCa: [(t: { clientCert: string; clientCaFile?: string }) => boolean, { message: string; path: string[] }] = [
  (t) => t.clientCert === 'none' || t.clientCaFile !== undefined,
  { message: 'clientCaFile is needed when clientCert is optional or required', path: ['clientCaFile'] },
];
export const TlsConfig = TlsFields.refine(...needsCa);
export type TlsConfig = z.infer<typeof TlsConfig>;

/** A Linux nice value: -20 (first) to 19 (last); below the process's own needs CAP_SYS_NICE. */
const Nice = z.coerce.number().int().min(-20).max(19);

export const SyslogConfig = z.strictObject({
  enabled: z.boolean().default(false),
  host: Host,
  udpPort: Port.default(5514),
  tcpPort: Port.default(5514),
  maxMessageBytes: PositiveInt.default(64 * 1024),
  /** SO_RCVBUF asked for the UDP socket; the kernel caps it at net.core.rmem_max (and doubles it). */
  recvBufferSize: PositiveInt.default(8 * 1024 * 1024),
  /** UDP datagrams received but not yet on the bus, at most; beyond it datagrams are dropped and counted. */
  udpMaxQueuedBytes: PositiveInt.default(64 * 1024 * 1024),
  /**
   * Nice value of the thread that drains the UDP socket (Linux: per thread). Below the process's
   * it wins the CPU over parsing and bus writes, which can wait; needs CAP_SYS_NICE, else ignored.
   */
  udpReceiverNice: Nice.default(-10),
  batchSize: PositiveInt.default(500),
  lingerMs: z.coerce.number().int().min(0).default(50),
  /** Open TCP (and, separately, TLS) connections per listener; more are refused and counted. */
  maxConnections: PositiveInt.default(1024),
  /** A TCP/TLS connection silent this long is closed (what it sent is kept). */
  idleTimeoutSeconds: PositiveInt.default(600),
  /** Syslog over TLS (RFC 5425) on its own port; absent = no TLS listener. */
  tls: TlsFields.extend({
    port: Port.default(6514),
    /**
     * TLS 1.2 by default: under TLS 1.3 the session tickets we send sit unread in rsyslog's
     * socket, its liveness check (a peek) then misses our close, and the first message after an
     * idle close or a collector restart is lost (measured, test/e2e/syslog-interop.test.ts).
     */
    maxVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  })
    .refine(...needsCa)
    .optional(),
});

export const CollectorConfig = z.strictObject({
  host: Host,
  port: Port.default(8081),
  maxBodyBytes: PositiveInt.default(16 * 1024 * 1024),
  maxLineBytes: PositiveInt.default(1024 * 1024),
  maxLinesPerRequest: PositiveInt.default(100_000),
  /** Ingest requests handled at once (their bodies are in memory); more get 503 + Retry-After. */
  maxInFlightRequests: PositiveInt.default(16),
  /** Events accepted but not yet consumed by a stage of this process (consumer lag) before ingest gets 503. */
  maxBacklog: PositiveInt.default(250_000),
  /**
   * Worker threads that parse and validate ingested lines, beside the thread serving HTTP and
   * appending to the bus; 0 parses on that thread.
   */
  parseThreads: z.coerce.number().int().min(0).max(64).default(1),
  /** Nice value of the parser threads (Linux: per thread); see `detector.threadNice`. */
  parseThreadNice: Nice.default(5),
  /**
   * Carry each accepted line verbatim as `event.original` (ECS; Elastic's `preserve_original_event`).
   * Off: every field is still mapped or kept under the sensor's namespace and `event.id` is unchanged;
   * the bus carries about a third fewer bytes per Zeek conn event (the realistic mix 6–13% faster).
   */
  preserveOriginal: z.boolean().default(true),
  rateLimit: RateLimitConfig.default(RateLimitConfig.parse({})),
  /** HTTPS for the collector; a verified client certificate (clientCert) acts as a sensor token. */
  tls: TlsConfig.optional(),
  syslog: SyslogConfig.default(SyslogConfig.parse({})),
  tail: z
    .array(z.strictObject({ path: z.string().min(1), format: z.enum(['zeek', 'suricata', 'syslog', 'ecs', 'auto']).default('auto') }))
    .default([]),
});

export const DetectorConfig = z.strictObject({
  /** ONNX model; defaults to the shipped model in models/. */
  modelPath: z.string().optional(),
  anomaly: z.boolean().default(true),
  batchSize: PositiveInt.default(512),
  lingerMs: z.coerce.number().int().min(0).default(5),
  /** Repeated anomalies of one source within this window become one alert with a count. */
  groupWindowSeconds: PositiveInt.default(300),
  maxBatch: PositiveInt.default(2000),
  /** In `soc start` (several services in one process), run the detector in its own worker thread. */
  thread: z.boolean().default(true),
  /**
   * Nice value of that thread (Linux: per thread). In `soc start` the parser and detector threads
   * run behind the indexer thread and the HTTP thread, which keep the process's priority: in an
   * alert storm the indexer is the stage that falls behind and finishes alone on one core while the
   * other idles; ahead of the others it keeps up instead. At 5 (10 and 19 measured the same): the
   * 100,000-alert storm 10,894–11,421 → 11,833–12,571/s, the realistic mix unchanged (bench, 2026-12-01).
   */
  threadNice: Nice.default(5),
  /**
   * The site's own address space beyond RFC 1918/4193 and other special ranges, for the site
   * signals (rarity counts internal hosts; beacons are to the outside). Fit and detector must agree.
   */
  internalCidrs: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v), z.array(z.string().refine((c) => parseCidr(c) !== undefined, 'a CIDR such as 192.0.2.0/24 or 2001:db8::/32'))).default([]),
});

export const ApiConfig = z.strictObject({
  host: Host,
  port: Port.default(8080),
  maxPageSize: PositiveInt.default(1000),
  /** Requests per second per token. */
  rateLimitPerSecond: PositiveInt.default(200),
  /** HTTPS for the API (and for the collector routes when `soc start` serves both on one port). */
  tls: TlsConfig.optional(),
});

export const IndexerConfig = z.strictObject({
  /**
   * Alerts per store transaction, at most (a batch is what is waiting, so it is this large only in a
   * backlog). A larger batch coalesces more updates of one group alert, and writes each page of the
   * id and address indexes (random by nature) once per batch instead of once per few thousand
   * alerts: 20,000 stored a 100,000-alert storm ~6% faster than 5,000 (bench pipeline-alerts). A
   * full batch holds the store's write lock ~1 s; a triage meanwhile waits (busy_timeout 5 s).
   */
  batchSize: PositiveInt.default(20_000),
  /** In `soc start` (several services in one process), run the indexer in its own worker thread. */
  thread: z.boolean().default(true),
});

export const FederationConfig = z.strictObject({
  enabled: z.boolean().default(false),
  /** Embedded transport: a bus file shared by the member SOCs on one machine. */
  sharedBusPath: z.string().optional(),
  privateKeyFile: z.string().optional(),
  trustListFile: z.string().optional(),
  policyFile: z.string().optional(),
});

export const SocConfig = z.strictObject({
  dataDir: z.string().min(1).default('.soc'),
  soc: SocIdentityConfig.default(SocIdentityConfig.parse({})),
  bus: BusConfig.default({ kind: 'embedded' }),
  store: StoreConfig.default({ kind: 'embedded' }),
  topics: TopicsConfig.default(TopicsConfig.parse({})),
  collector: CollectorConfig.default(CollectorConfig.parse({})),
  detector: DetectorConfig.default(DetectorConfig.parse({})),
  indexer: IndexerConfig.default(IndexerConfig.parse({})),
  api: ApiConfig.default(ApiConfig.parse({})),
  federation: FederationConfig.default(FederationConfig.parse({})),
});
export type SocConfig = z.infer<typeof SocConfig>;
export type SocConfigInput = z.input<typeof SocConfig>;
