import { ConnState, type EcsEventInput } from '@soc/schema';
import { secondsToNanos } from '../time.ts';
import { mergeInto } from '../merge.ts';
import { directionOf } from '../network.ts';
import type { Draft, DraftOutcome } from '../types.ts';
import { bool, clip, count, distinct, num, outcomeOf, port, str, whole, type Rec } from '../util.ts';
import type { ZeekRecord, ZeekValue } from './record.ts';

/**
 * Zeek log → ECS, after Elastic's Zeek integration (its ingest pipelines set the categories and
 * types used here). Every event keeps the Zeek fields it did not promote under `zeek.<log>`, with
 * the connection uid as `zeek.session_id`, so the analyst loses nothing; a field promoted whole is
 * not repeated there (as Elastic's pipeline renames it), which keeps a conn event a tenth smaller.
 */

type Fields = Record<string, ZeekValue>;
type Category = NonNullable<EcsEventInput['event']['category']>[number];
type EvType = NonNullable<EcsEventInput['event']['type']>[number];

interface Spec {
  kind?: 'alert' | 'event';
  category: Category[];
  type: EvType[];
  transport?: string;
  protocol?: string;
  /** Log-specific promotions to ECS fields. */
  extra?: (f: Fields) => Rec;
  /**
   * Fields the promotions move to ECS, as Elastic's pipeline renames them: left out of `zeek.<log>`
   * when the value went over whole (the test per field); a value the promotion dropped or cut stays.
   */
  moved?: ReadonlyMap<string, (v: ZeekValue) => boolean>;
}

const CONN_STATES = new Set<string>(ConnState.options);

/** event.type per conn_state, exactly as Elastic's Zeek connection pipeline sets it. */
export const CONN_STATE_TYPES: Record<ConnState, EvType[]> = {
  S0: ['connection', 'start'], S1: ['connection', 'start'], SF: ['connection', 'start', 'end'], REJ: ['connection', 'start', 'denied'],
  S2: ['connection', 'info'], S3: ['connection', 'info'], RSTO: ['connection', 'info'], RSTR: ['connection', 'info'], RSTOS0: ['connection', 'info'],
  RSTRH: ['connection', 'info'], SH: ['connection', 'info'], SHR: ['connection', 'info'], OTH: ['connection', 'info'],
};

/** Zeek log → its key under `zeek.` where Elastic's integration names it differently. */
const NAMESPACE: Record<string, string> = { conn: 'connection' };
/** Fields renamed inside the namespace (Elastic: conn_state → zeek.connection.state). */
const RENAMED: Record<string, Map<string, string>> = { conn: new Map([['conn_state', 'state']]) };
const NONE_RENAMED = new Map<string, string>();
const first = (v: ZeekValue | undefined): ZeekValue | undefined => (Array.isArray(v) ? v[0] : v);

/** Kerberos and NTLM clients come as `user/REALM`. */
function userOf(principal: unknown): Rec | undefined {
  const p = str(principal);
  if (!p) return undefined;
  const slash = p.indexOf('/');
  return slash < 0 ? { name: p } : { name: p.slice(0, slash) || undefined, domain: p.slice(slash + 1) || undefined };
}

const PROTOCOL: Category[] = ['network'];
const CONN_PROTO: EvType[] = ['connection', 'protocol'];

const SPECS: Record<string, Spec> = {
  conn: {
    category: ['network'],
    type: ['connection'],
    extra: (f) => {
      // As Elastic's Zeek integration: source/destination bytes are IP-level bytes; the payload
      // bytes (orig_bytes/resp_bytes) stay in zeek.connection, where the traffic features read them.
      const ob = count(f.orig_ip_bytes), rb = count(f.resp_ip_bytes), op = count(f.orig_pkts), rp = count(f.resp_pkts);
      const state = str(f.conn_state);
      const known = state && CONN_STATES.has(state) ? state : undefined;
      const lo = bool(f.local_orig), lr = bool(f.local_resp);
      return {
        event: { duration: secondsToNanos(f.duration), type: known ? CONN_STATE_TYPES[known as ConnState] : undefined },
        network: {
          protocol: clip(str(f.service), 64),
          bytes: ob !== undefined && rb !== undefined ? ob + rb : undefined,
          packets: op !== undefined && rp !== undefined ? op + rp : undefined,
          direction: lo === undefined || lr === undefined ? undefined : directionOf(lo, lr),
        },
        source: { bytes: ob, packets: op, mac: str(f.orig_l2_addr) },
        destination: { bytes: rb, packets: rp, mac: str(f.resp_l2_addr) },
      };
    },
    moved: new Map([
      ['proto', whole(str)], ['service', (v) => clip(str(v), 64) === v], ['duration', (v) => secondsToNanos(v) !== undefined],
      ['orig_ip_bytes', whole(count)], ['resp_ip_bytes', whole(count)], ['orig_pkts', whole(count)], ['resp_pkts', whole(count)],
      ['orig_l2_addr', whole(str)], ['resp_l2_addr', whole(str)],
    ]),
  },
  dns: {
    category: PROTOCOL, type: ['connection', 'protocol', 'info'], protocol: 'dns',
    extra: (f) => ({
      dns: {
        id: f.trans_id === undefined ? undefined : str(String(first(f.trans_id))),
        question: { name: str(f.query), type: str(f.qtype_name), class: str(f.qclass_name) },
        response_code: str(f.rcode_name),
        answers: Array.isArray(f.answers) ? f.answers.map((data) => ({ data })) : undefined,
      },
    }),
  },
  http: {
    category: ['network', 'web'], type: CONN_PROTO, transport: 'tcp', protocol: 'http',
    extra: (f) => ({
      http: { version: str(f.version), request: { method: str(f.method), referrer: str(f.referrer) }, response: { status_code: num(f.status_code) } },
      url: { original: str(f.uri), domain: str(f.host) },
      user_agent: { original: str(f.user_agent) },
      user: { name: clip(str(f.username), 256) },
    }),
  },
  ssl: {
    category: PROTOCOL, type: CONN_PROTO, transport: 'tcp', protocol: 'tls',
    extra: (f) => ({
      tls: { version: str(f.version), cipher: str(f.cipher), curve: str(f.curve), established: bool(f.established), resumed: bool(f.resumed), client: { server_name: str(f.server_name), ja3: str(f.ja3) }, server: { ja3s: str(f.ja3s), subject: str(f.subject), issuer: str(f.issuer) } },
    }),
  },
  x509: {
    category: ['network'], type: ['info'],
    extra: (f) => ({
      tls: { server: { x509: { subject: { distinguished_name: str(f['certificate.subject']) }, issuer: { distinguished_name: str(f['certificate.issuer']) }, serial_number: str(f['certificate.serial']), not_before: str(f['certificate.not_valid_before']), not_after: str(f['certificate.not_valid_after']) }, hash: { sha256: str(f.fingerprint) } } },
    }),
  },
  ssh: {
    category: PROTOCOL, type: CONN_PROTO, transport: 'tcp', protocol: 'ssh',
    extra: (f) => ({ event: { outcome: outcomeOf(f.auth_success) } }),
  },
  notice: {
    kind: 'alert', category: ['intrusion_detection'], type: ['info'],
    extra: (f) => ({
      rule: { name: clip(str(f.note), 1024), description: clip(str(f.msg), 4096) },
      message: clip(str(f.msg), 65_536),
      // Notices raised outside a connection name their endpoints in src/dst/p instead of id.*.
      source: f['id.orig_h'] === undefined ? { ip: str(f.src) } : undefined,
      destination: f['id.resp_h'] === undefined ? { ip: str(f.dst), port: port(f.p) } : undefined,
      event: { type: f.dropped === true ? ['info', 'denied'] : f.dropped === false ? ['info', 'allowed'] : undefined },
    }),
  },
  weird: {
    category: ['network'], type: ['info'],
    extra: (f) => ({ rule: { name: clip(str(f.name), 1024) }, message: clip(distinct(str(f.name), str(f.addl))?.join(': '), 65_536) }),
  },
  syslog: {
    category: PROTOCOL, type: CONN_PROTO, protocol: 'syslog',
    extra: (f) => ({
      message: clip(str(f.message), 65_536),
      log: { syslog: { facility: { name: str(f.facility)?.toLowerCase() }, severity: { name: str(f.severity)?.toLowerCase() } } },
    }),
  },
  rdp: {
    category: PROTOCOL, type: CONN_PROTO, transport: 'tcp', protocol: 'rdp',
    extra: (f) => ({ user: { name: clip(str(f.cookie), 256) } }),
  },
  smtp: {
    category: PROTOCOL, type: CONN_PROTO, transport: 'tcp', protocol: 'smtp',
    extra: (f) => ({ email: { from: { address: distinct(str(f.mailfrom)) }, to: { address: Array.isArray(f.rcptto) ? f.rcptto : undefined }, subject: str(f.subject), message_id: str(f.msg_id) } }),
  },
  ntlm: {
    category: ['network', 'authentication'], type: ['connection', 'info'], transport: 'tcp', protocol: 'ntlm',
    extra: (f) => ({ user: { name: clip(str(f.username), 256), domain: clip(str(f.domainname), 256) }, event: { outcome: outcomeOf(f.success) } }),
  },
  kerberos: {
    category: ['network', 'authentication'], type: ['connection', 'protocol', 'access'], protocol: 'kerberos',
    extra: (f) => ({ user: userOf(f.client), event: { action: str(f.request_type), outcome: outcomeOf(f.success) } }),
  },
  ftp: {
    category: PROTOCOL, type: CONN_PROTO, transport: 'tcp', protocol: 'ftp',
    extra: (f) => ({ user: { name: clip(str(f.user), 256) }, event: { action: clip(str(f.command), 256) } }),
  },
  dce_rpc: {
    category: PROTOCOL, type: CONN_PROTO, transport: 'tcp', protocol: 'dce_rpc',
    extra: (f) => ({ event: { action: clip(str(f.operation), 256) } }),
  },
  ntp: { category: PROTOCOL, type: CONN_PROTO, transport: 'udp', protocol: 'ntp' },
  software: {
    category: ['network'], type: ['info'],
    extra: (f) => ({ host: { ip: distinct(str(f.host)) } }),
  },
  files: {
    category: ['file'], type: ['info'],
    extra: (f) => ({
      file: { mime_type: str(f.mime_type), size: count(f.total_bytes) ?? count(f.seen_bytes), name: str(f.filename), hash: { md5: str(f.md5), sha1: str(f.sha1), sha256: str(f.sha256) } },
      // Newer Zeek names no connection in files.log: the hosts that sent and received the file.
      source: f['id.orig_h'] === undefined ? { ip: str(first(f.tx_hosts)) } : undefined,
      destination: f['id.resp_h'] === undefined ? { ip: str(first(f.rx_hosts)) } : undefined,
    }),
  },
  known_services: {
    category: ['network'], type: ['info'],
    extra: (f) => ({
      destination: { ip: str(f.host), port: port(f.port_num) },
      network: { transport: str(f.port_proto), protocol: clip(str(first(f.service))?.toLowerCase(), 64) },
    }),
  },
};

const GENERIC: Spec = { category: [], type: [] };
const PROMOTED = new Set(['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p']);

export const MAPPED_ZEEK_LOGS = Object.keys(SPECS);

/** A Zeek record to an event draft (no id/original yet). */
export function mapZeek(record: ZeekRecord): DraftOutcome {
  const f = record.fields;
  const ts = str(f.ts);
  if (!ts) return { ok: false, reason: `zeek ${record.path}: record has no ts` };
  const spec = SPECS[record.path] ?? GENERIC;
  const rest: Rec = {};
  const renamed = RENAMED[record.path] ?? NONE_RENAMED;
  const moved = spec.moved;
  for (const k in f) if (!PROMOTED.has(k) && !moved?.get(k)?.(f[k]!)) rest[renamed.get(k) ?? k] = f[k];
  const srcIp = str(f['id.orig_h']);
  const dstIp = str(f['id.resp_h']);
  const transport = spec.transport ?? str(f.proto);
  // ICMP has no ports: Zeek writes the type and code in them; they move to zeek.<log>.icmp.
  const icmp = transport === 'icmp';
  if (icmp) rest.icmp = { type: port(f['id.orig_p']), code: port(f['id.resp_p']) };
  const base: Draft = {
    '@timestamp': ts,
    event: { kind: spec.kind ?? 'event', category: spec.category, type: spec.type, dataset: `zeek.${record.path}`, module: 'zeek' },
    source: { ip: srcIp, port: icmp ? undefined : port(f['id.orig_p']) },
    destination: { ip: dstIp, port: icmp ? undefined : port(f['id.resp_p']) },
    network: { transport, protocol: spec.protocol, community_id: clip(str(f.community_id), 128) },
    zeek: { session_id: str(f.uid), [NAMESPACE[record.path] ?? record.path]: rest },
  };
  const draft = mergeInto(base, spec.extra?.(f) ?? {});
  const related = distinct(draft.source?.ip, draft.destination?.ip);
  if (related) draft.related = { ip: related };
  return { ok: true, draft };
}
