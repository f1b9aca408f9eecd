import { z } from 'zod';
import { isIp } from '@soc/netaddr';

/**
 * The normalised event: a subset of the Elastic Common Schema (ECS 8.x/9.x). Field names are ECS
 * names (held against ECS's ecs_flat.yml by a test); sensor specifics live in the sensor's own
 * namespace, as Elastic's Zeek and Suricata integrations put them: `zeek.<log>` (conn under
 * `zeek.connection`, with the flow `state` and `history`) and `suricata.eve` (the EVE record, plus
 * `flow.conn_state`: the flow in Zeek's conn_state vocabulary).
 *
 * Every typed field is checked here, at ingest, as strictly as the stores will index it
 * (Elasticsearch `ip`, `date`, `integer`, `long`), so a sensor learns at once why a record was
 * refused instead of the record dying later in the indexer.
 */

/**
 * ISO 8601 with an offset, as both stores parse it: at most nanosecond precision (the
 * `strict_date_optional_time` fraction has 1 to 9 digits) and a real calendar date.
 */
export const Timestamp = z.iso
  .datetime({ offset: true, precision: undefined })
  .refine((s) => !/\.\d{10,}/.test(s) && Number.isFinite(Date.parse(s)), 'timestamp with more than nanosecond precision');

/**
 * An IPv4 or IPv6 address in a form the `ip` type accepts: strict dotted quads (no octal or
 * short forms, see @soc/netaddr) and no IPv6 zone index (meaningless off the sensor).
 */
export const IpAddress = z
  .string()
  .max(64)
  .refine((s) => isIpAddress(s), 'not an IP address');

/** What `IpAddress` accepts, as a predicate (for an encoder that writes events without zod). */
export function isIpAddress(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 64 && !s.includes('%') && isIp(s);
}

/** A count (bytes, packets, pids): a non-negative integer exact in a double (fits ES `long`). */
export const Count = z.number().int().nonnegative();

/** A TCP/UDP port (ICMP type/code fit too). */
export const Port = z.number().int().min(0).max(65535);

const Loose = z.record(z.string(), z.unknown());

export const Endpoint = z.object({
  ip: IpAddress.optional(),
  port: Port.optional(),
  bytes: Count.optional(),
  packets: Count.optional(),
  domain: z.string().max(1024).optional(),
  mac: z.string().max(64).optional(),
  address: z.string().max(1024).optional(),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** The sensor or collector that saw the event. */
export const Observer = z.object({
  hostname: z.string().max(256).optional(),
  name: z.string().max(256).optional(),
  ip: IpAddress.optional(),
  type: z.string().max(64).optional(),
  vendor: z.string().max(128).optional(),
  product: z.string().max(128).optional(),
});

export const EventKind = z.enum(['alert', 'event', 'metric', 'state', 'pipeline_error', 'signal']);

/** ECS `event.category` allowed values. */
export const EventCategory = z.enum([
  'api', 'authentication', 'configuration', 'database', 'driver', 'email', 'file', 'host', 'iam',
  'intrusion_detection', 'library', 'malware', 'network', 'package', 'process', 'registry',
  'session', 'threat', 'vulnerability', 'web',
]);

/** ECS `event.type` allowed values. */
export const EventType = z.enum([
  'access', 'admin', 'allowed', 'change', 'connection', 'creation', 'deletion', 'denied', 'end',
  'error', 'group', 'indicator', 'info', 'installation', 'protocol', 'start', 'user',
]);

/**
 * Zeek's conn_state vocabulary, used for every flow whatever its sensor, because the traffic
 * features (NSL-KDD `flag`) are defined over it.
 */
export const ConnState = z.enum(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH']);
export type ConnState = z.infer<typeof ConnState>;

/**
 * The event schema as written, which zod runs interpreted. `EcsEvent` below is the same schema
 * compiled; only the tests that hold the two against each other need this one.
 */
export const EcsEventReference = z.object({
  '@timestamp': Timestamp,
  event: z.object({
    /** Deterministic: a hash of the original record, so a re-sent line is the same event. */
    id: z.string().min(1).max(128),
    kind: EventKind,
    category: z.array(EventCategory).default([]),
    type: z.array(EventType).default([]),
    dataset: z.string().min(1).max(128),
    module: z.string().max(64).optional(),
    /** Numeric severity as the sensor gave it (Suricata: 1 = highest). */
    severity: z.number().int().min(0).max(1000).optional(),
    action: z.string().max(256).optional(),
    outcome: z.enum(['success', 'failure', 'unknown']).optional(),
    /** Nanoseconds, as ECS defines it (a `long`). */
    duration: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    created: Timestamp.optional(),
    ingested: Timestamp.optional(),
    /** The raw record as the sensor sent it. */
    original: z.string().max(1_048_576).optional(),
  }),
  message: z.string().max(65_536).optional(),
  source: Endpoint.optional(),
  destination: Endpoint.optional(),
  client: Endpoint.optional(),
  server: Endpoint.optional(),
  network: z
    .object({
      transport: z.string().max(32).optional(),
      protocol: z.string().max(64).optional(),
      application: z.string().max(64).optional(),
      direction: z.string().max(32).optional(),
      bytes: Count.optional(),
      packets: Count.optional(),
      community_id: z.string().max(128).optional(),
    })
    .optional(),
  observer: Observer.optional(),
  host: z
    .object({
      name: z.string().max(256).optional(),
      hostname: z.string().max(256).optional(),
      ip: z.array(IpAddress).max(64).optional(),
    })
    .optional(),
  user: z.object({ name: z.string().max(256).optional(), domain: z.string().max(256).optional() }).optional(),
  rule: z
    .object({
      id: z.string().max(128).optional(),
      name: z.string().max(1024).optional(),
      category: z.string().max(256).optional(),
      ruleset: z.string().max(256).optional(),
      description: z.string().max(4096).optional(),
    })
    .optional(),
  related: z
    .object({
      ip: z.array(IpAddress).max(64).optional(),
      hosts: z.array(z.string().max(1024)).max(64).optional(),
      user: z.array(z.string().max(1024)).max(64).optional(),
      hash: z.array(z.string().max(1024)).max(64).optional(),
    })
    .optional(),
  log: z.object({ level: z.string().max(32).optional(), syslog: Loose.optional(), file: Loose.optional() }).optional(),
  process: z.object({ name: z.string().max(256).optional(), pid: Count.optional() }).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  tags: z.array(z.string()).optional(),
  // Protocol detail namespaces (ECS: dns, http, url, tls, file, user_agent, email) and sensor
  // specifics kept for the analyst; loose by design, their inner fields vary by protocol.
  dns: Loose.optional(),
  http: Loose.optional(),
  url: Loose.optional(),
  tls: Loose.optional(),
  file: Loose.optional(),
  user_agent: Loose.optional(),
  email: Loose.optional(),
  zeek: Loose.optional(),
  suricata: Loose.optional(),
});
/**
 * Every ingested event is validated here (2 per event on the collector's hot path), so the schema
 * is compiled (`z.compile`: generated straight-line checks, about 3× faster than the interpreted
 * parser). It accepts, rejects and outputs exactly what `EcsEventReference` does: a value the
 * generated code does not accept is handed to the interpreted parser, whose issues are the ones
 * reported. `schema.test.ts` holds the two against each other.
 */
export const EcsEvent = z.compile(EcsEventReference);
export type EcsEvent = z.infer<typeof EcsEvent>;

const CONN_STATES: ReadonlySet<string> = new Set(ConnState.options);
/** The flow state of a Zeek conn or Suricata flow event, in Zeek's conn_state vocabulary. */
export function flowState(e: Pick<EcsEvent, 'zeek' | 'suricata'>): ConnState | undefined {
  const zeek = (e.zeek?.connection as { state?: unknown } | undefined)?.state;
  const suricata = ((e.suricata?.eve as { flow?: { conn_state?: unknown } } | undefined)?.flow)?.conn_state;
  const v = zeek ?? suricata;
  // A Set, not ConnState.safeParse: most events (DNS, alerts) have no state, and zod builds an
  // error object for each of those (2% of the detector thread in an alert storm).
  return typeof v === 'string' && CONN_STATES.has(v) ? (v as ConnState) : undefined;
}
export type EcsEventInput = z.input<typeof EcsEvent>;
