import { FLAGS, PROTOCOLS, SERVICES, indexer } from './vocab.ts';

/**
 * How a raw feature value is turned into model input. Shared by the training code and the ONNX
 * graph so the two cannot disagree:
 * - `onehot`: the value is an index into `vocabulary`; one-hot expanded (an unknown index, -1, is all zeros);
 * - `log1p`: heavy-tailed counts and sizes, log(1 + x) then standardised;
 * - `identity`: rates and flags already in [0, 1], standardised.
 */
export type Encoding = 'onehot' | 'log1p' | 'identity';
export type FeatureGroup = 'basic' | 'time' | 'host';

export interface FeatureDef {
  readonly name: string;
  readonly group: FeatureGroup;
  readonly encoding: Encoding;
  readonly description: string;
  readonly vocabulary?: readonly string[];
}

/**
 * THE feature list: field order and meaning of every model input, defined once. The 26 NSL-KDD
 * features observable from a flow record (content features such as `hot` or `num_failed_logins`
 * need payload inspection and are deliberately absent). Windows: "2 s" = connections whose start
 * lies in the 2 seconds up to this one's, current connection included; "host window" = the 100
 * previous connections to the same destination host, current one excluded (as in the NSL-KDD data,
 * where count ≥ 1 but dst_host_count ≥ 0).
 */
export const FEATURES: readonly FeatureDef[] = [
  { name: 'duration', group: 'basic', encoding: 'log1p', description: 'Connection length in seconds' },
  { name: 'protocol_type', group: 'basic', encoding: 'onehot', vocabulary: PROTOCOLS, description: 'Transport protocol (tcp, udp, icmp)' },
  { name: 'service', group: 'basic', encoding: 'onehot', vocabulary: SERVICES, description: 'Destination service, KDD vocabulary (see kddService)' },
  { name: 'flag', group: 'basic', encoding: 'onehot', vocabulary: FLAGS, description: 'Connection status, KDD flag from Zeek conn_state' },
  { name: 'src_bytes', group: 'basic', encoding: 'log1p', description: 'Payload bytes from originator to responder' },
  { name: 'dst_bytes', group: 'basic', encoding: 'log1p', description: 'Payload bytes from responder to originator' },
  { name: 'land', group: 'basic', encoding: 'identity', description: '1 if source and destination IP and port are equal, else 0' },
  { name: 'count', group: 'time', encoding: 'log1p', description: 'Connections to the same destination host in the past 2 s' },
  { name: 'srv_count', group: 'time', encoding: 'log1p', description: 'Connections to the same service in the past 2 s' },
  { name: 'serror_rate', group: 'time', encoding: 'identity', description: 'Share of `count` connections with SYN errors (S0, S1, S2, S3)' },
  { name: 'srv_serror_rate', group: 'time', encoding: 'identity', description: 'Share of `srv_count` connections with SYN errors' },
  { name: 'rerror_rate', group: 'time', encoding: 'identity', description: 'Share of `count` connections with REJ errors' },
  { name: 'srv_rerror_rate', group: 'time', encoding: 'identity', description: 'Share of `srv_count` connections with REJ errors' },
  { name: 'same_srv_rate', group: 'time', encoding: 'identity', description: 'Share of `count` connections to the same service' },
  { name: 'diff_srv_rate', group: 'time', encoding: 'identity', description: 'Share of `count` connections to different services' },
  { name: 'srv_diff_host_rate', group: 'time', encoding: 'identity', description: 'Share of `srv_count` connections to different destination hosts' },
  { name: 'dst_host_count', group: 'host', encoding: 'log1p', description: 'Connections in the host window (previous 100 to the same destination host)' },
  { name: 'dst_host_srv_count', group: 'host', encoding: 'log1p', description: 'Host-window connections to the same service' },
  { name: 'dst_host_same_srv_rate', group: 'host', encoding: 'identity', description: 'Share of host-window connections to the same service' },
  { name: 'dst_host_diff_srv_rate', group: 'host', encoding: 'identity', description: 'Share of host-window connections to different services' },
  { name: 'dst_host_same_src_port_rate', group: 'host', encoding: 'identity', description: 'Share of host-window connections from the same source port' },
  { name: 'dst_host_srv_diff_host_rate', group: 'host', encoding: 'identity', description: 'Share of the previous 100 connections to the same service that went to a different destination host' },
  { name: 'dst_host_serror_rate', group: 'host', encoding: 'identity', description: 'Share of host-window connections with SYN errors' },
  { name: 'dst_host_srv_serror_rate', group: 'host', encoding: 'identity', description: 'Share of same-service host-window connections with SYN errors' },
  { name: 'dst_host_rerror_rate', group: 'host', encoding: 'identity', description: 'Share of host-window connections with REJ errors' },
  { name: 'dst_host_srv_rerror_rate', group: 'host', encoding: 'identity', description: 'Share of same-service host-window connections with REJ errors' },
];

export const FEATURE_NAMES: readonly string[] = FEATURES.map((f) => f.name);
export const FEATURE_COUNT = FEATURES.length;

/** One flow's raw features in FEATURES order; categoricals as vocabulary indices. */
export type FeatureVector = Float32Array;

/** Position of a feature by name; throws on a name not in FEATURES (a programming error). */
export function featureIndex(name: string): number {
  const i = FEATURE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`unknown feature ${name}`);
  return i;
}

/** Fingerprint of the feature contract, stored with a model so a drifted FEATURES is refused. */
export function featureSignature(): string {
  return FEATURES.map((f) => `${f.name}:${f.encoding}${f.vocabulary ? `[${f.vocabulary.join('|')}]` : ''}`).join(',');
}

/** Column of each FEATURES entry in an NSL-KDD record (41 features, label, difficulty). */
const KDD_COLUMNS: readonly string[] = [
  'duration', 'protocol_type', 'service', 'flag', 'src_bytes', 'dst_bytes', 'land', 'wrong_fragment',
  'urgent', 'hot', 'num_failed_logins', 'logged_in', 'num_compromised', 'root_shell', 'su_attempted',
  'num_root', 'num_file_creations', 'num_shells', 'num_access_files', 'num_outbound_cmds',
  'is_host_login', 'is_guest_login', 'count', 'srv_count', 'serror_rate', 'srv_serror_rate',
  'rerror_rate', 'srv_rerror_rate', 'same_srv_rate', 'diff_srv_rate', 'srv_diff_host_rate',
  'dst_host_count', 'dst_host_srv_count', 'dst_host_same_srv_rate', 'dst_host_diff_srv_rate',
  'dst_host_same_src_port_rate', 'dst_host_srv_diff_host_rate', 'dst_host_serror_rate',
  'dst_host_srv_serror_rate', 'dst_host_rerror_rate', 'dst_host_srv_rerror_rate',
];
const COLUMN_OF = FEATURES.map((f) => KDD_COLUMNS.indexOf(f.name));
const ENCODERS = FEATURES.map((f) => (f.vocabulary ? indexer(f.vocabulary) : null));

export interface KddRecord {
  vector: FeatureVector;
  label: string;
  attack: boolean;
}

/**
 * Parses one NSL-KDD line (CRLF or LF) into FEATURES order. Returns null for a blank line; throws
 * on a malformed one, because a silently skipped row would bias training and evaluation.
 */
export function parseKddLine(line: string): KddRecord | null {
  const trimmed = line.trim();
  if (trimmed === '') return null;
  const cols = trimmed.split(',');
  if (cols.length < 42) throw new Error(`NSL-KDD record has ${cols.length} fields, expected 42 or 43`);
  const vector = new Float32Array(FEATURE_COUNT);
  for (let i = 0; i < FEATURE_COUNT; i++) {
    const raw = cols[COLUMN_OF[i]!]!;
    const enc = ENCODERS[i];
    const v = enc ? enc(raw) : Number(raw);
    if (!Number.isFinite(v)) throw new Error(`NSL-KDD field ${FEATURES[i]!.name} is not a number: ${raw}`);
    vector[i] = v;
  }
  const label = cols[41]!.replace(/\.$/, '');
  return { vector, label, attack: label !== 'normal' };
}
