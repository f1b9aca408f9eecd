import type { ConnState } from '@soc/schema';
import { mergeInto } from './merge.ts';
import { canonicalTime, nanosBetween } from './time.ts';
import type { Draft, DraftOutcome } from './types.ts';
import { clip, count, distinct, isRecord, num, port, str, whole, type Rec } from './util.ts';

/**
 * Suricata EVE JSON → ECS. The EVE record is kept under `suricata.eve`, less the fields the
 * mapping moved to ECS whole (as Elastic's pipeline renames or removes them); the dataset is
 * `suricata.<event_type>` so consumers can pick flows or alerts without opening the record.
 */

const rec = (v: unknown): Rec => (isRecord(v) ? v : {});

/** TCP flags as EVE writes them: a hex byte (`"1b"`) in tcp_flags_ts / tcp_flags_tc. */
interface Flags { syn: boolean; fin: boolean; rst: boolean }
function flagsOf(hex: unknown): Flags | undefined {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{1,2}$/.test(hex)) return undefined;
  const b = parseInt(hex, 16);
  return { fin: (b & 0x01) !== 0, syn: (b & 0x02) !== 0, rst: (b & 0x04) !== 0 };
}

/**
 * Suricata's flow record → Zeek's conn_state (the vocabulary the detector's features use).
 * Suricata keeps the TCP flags seen per direction (to server = originator, to client =
 * responder); Zeek's states are defined over the same observations:
 *
 * | originator (ts)  | responder (tc)           | state  |
 * |------------------|--------------------------|--------|
 * | SYN, no reply    | nothing                  | S0 (RSTOS0 if orig RST, SH if orig FIN) |
 * | SYN              | RST without SYN          | REJ    |
 * | SYN              | SYN; orig RST            | RSTO   |
 * | SYN              | SYN; resp RST            | RSTR   |
 * | SYN + FIN        | SYN + FIN                | SF     |
 * | SYN + FIN        | SYN                      | S2     |
 * | SYN              | SYN + FIN                | S3     |
 * | SYN              | SYN                      | S1     |
 * | no SYN           | SYN + RST / SYN + FIN    | RSTRH / SHR |
 * | anything else (midstream, SYN answered without SYN) | | OTH |
 *
 * UDP and other transports have no handshake: SF when the responder sent packets, else S0 (as
 * Zeek reports them). Without any TCP flags (flow logged before the first packet's flags are
 * known) the state is OTH.
 */
export function suricataConnState(proto: string | undefined, flow: Rec, tcp: Rec): ConnState {
  const toClient = count(flow.pkts_toclient) ?? 0;
  if (proto !== 'tcp') return toClient > 0 ? 'SF' : 'S0';
  const o = flagsOf(tcp.tcp_flags_ts);
  const r = flagsOf(tcp.tcp_flags_tc);
  if (!o) return 'OTH';
  const replied = toClient > 0 || (r !== undefined && (r.syn || r.fin || r.rst));
  if (!o.syn) {
    if (r?.syn && r.rst) return 'RSTRH';
    if (r?.syn && r.fin) return 'SHR';
    return 'OTH';
  }
  if (!replied || !r) return o.rst ? 'RSTOS0' : o.fin ? 'SH' : 'S0';
  if (!r.syn) return r.rst ? 'REJ' : 'OTH';
  if (o.rst) return 'RSTO';
  if (r.rst) return 'RSTR';
  if (o.fin && r.fin) return 'SF';
  if (o.fin) return 'S2';
  if (r.fin) return 'S3';
  return 'S1';
}

type Extra = (e: Rec, proto: string | undefined) => Rec;

const EXTRAS: Record<string, Extra> = {
  alert: (e) => {
    const a = rec(e.alert);
    const action = str(a.action);
    return {
      event: {
        kind: 'alert',
        category: ['network', 'intrusion_detection'],
        type: action === 'blocked' ? ['denied'] : action === 'allowed' ? ['allowed'] : ['info'],
        severity: severityOf(a.severity),
        action,
      },
      rule: { id: typeof a.signature_id === 'number' || typeof a.signature_id === 'string' ? clip(String(a.signature_id), 128) : undefined, name: clip(str(a.signature), 1024), category: clip(str(a.category), 256) },
      message: clip(str(a.signature), 65_536),
    };
  },
  flow: (e, proto) => {
    const flow = rec(e.flow);
    const tcp = rec(e.tcp);
    const start = canonicalTime(flow.start);
    const end = canonicalTime(flow.end);
    const sb = count(flow.bytes_toserver), db = count(flow.bytes_toclient), sp = count(flow.pkts_toserver), dp = count(flow.pkts_toclient);
    return {
      event: { category: ['network'], type: ['connection', ...(str(flow.state) === 'closed' ? (['end'] as const) : [])], duration: start && end ? nanosBetween(start, end) : undefined },
      source: { bytes: sb, packets: sp },
      destination: { bytes: db, packets: dp },
      network: { bytes: sb !== undefined && db !== undefined ? sb + db : undefined, packets: sp !== undefined && dp !== undefined ? sp + dp : undefined },
      // Zeek's conn_state vocabulary, which the traffic features are defined over; added beside
      // Suricata's own flow.state under suricata.eve.flow.
      suricata: { eve: { flow: { conn_state: suricataConnState(proto, flow, tcp) } } },
    };
  },
  dns: (e) => {
    const d = rec(e.dns);
    return {
      event: { category: ['network'], type: ['connection', 'protocol', 'info'] },
      network: { protocol: 'dns' },
      dns: { type: str(d.type), id: d.id === undefined || d.id === null ? undefined : String(d.id), question: { name: str(d.rrname), type: str(d.rrtype) }, response_code: str(d.rcode) },
    };
  },
  http: (e) => {
    const h = rec(e.http);
    return {
      event: { category: ['network', 'web'], type: ['connection', 'protocol'] },
      network: { protocol: 'http' },
      http: { version: str(h.protocol), request: { method: str(h.http_method), referrer: str(h.http_refer) }, response: { status_code: num(h.status), body: { bytes: count(h.length) } } },
      url: { original: str(h.url), domain: str(h.hostname) },
      user_agent: { original: str(h.http_user_agent) },
    };
  },
  tls: (e) => {
    const t = rec(e.tls);
    return {
      event: { category: ['network'], type: ['connection', 'protocol'] },
      network: { protocol: 'tls' },
      tls: { version: str(t.version), client: { server_name: str(t.sni), ja3: str(rec(t.ja3).hash) }, server: { subject: str(t.subject), issuer: str(t.issuerdn), ja3s: str(rec(t.ja3s).hash), hash: { sha1: str(t.fingerprint) } } },
    };
  },
  // ECS has no ssh field set: the versions stay in suricata.eve.ssh, as Elastic's pipeline keeps them.
  ssh: () => ({ event: { category: ['network'], type: ['connection', 'protocol'] }, network: { protocol: 'ssh' } }),
  fileinfo: (e) => {
    const f = rec(e.fileinfo);
    const name = str(f.filename);
    return {
      event: { category: ['network', 'file'], type: ['info'] },
      file: { name: name?.split('/').pop(), path: name, size: count(f.size), mime_type: str(f.magic), hash: { md5: str(f.md5), sha1: str(f.sha1), sha256: str(f.sha256) } },
    };
  },
  anomaly: (e) => {
    const a = rec(e.anomaly);
    return {
      event: { category: ['network'], type: ['info'], action: clip(str(a.event), 256) },
      message: clip(distinct(str(a.type), str(a.event), str(a.layer))?.join(' '), 65_536),
    };
  },
};

const DATASET_RE = /^[a-z0-9_]{1,64}$/;

const severityOf = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000 ? (v as number) : undefined);

type Moved = ReadonlyMap<string, (v: unknown) => boolean>;
/**
 * EVE fields the mapping carries to ECS, each with the test that it went over whole: those are
 * left out of `suricata.eve` (Elastic's pipeline renames or removes them); a value the mapping
 * dropped or cut stays, so the analyst loses nothing. `proto` goes lower-cased, as Elastic's does
 * (whole when it fits `network.transport`'s 32 characters).
 */
const MOVED: Moved = new Map<string, (v: unknown) => boolean>([
  // Always whole here: mapSuricata refuses an event whose timestamp it cannot carry before it takes the remainder.
  ['timestamp', () => true], ['src_ip', whole(str)], ['dest_ip', whole(str)],
  ['src_port', whole(port)], ['dest_port', whole(port)], ['proto', (v) => (str(v)?.toLowerCase().length ?? Infinity) <= 32],
]);
/** Per event type, what its mapping (EXTRAS) moves from the object of the same name. */
const MOVED_WITHIN: Record<string, Record<string, Moved>> = {
  alert: { alert: new Map([['action', whole(str)], ['severity', whole(severityOf)]]) },
  flow: { flow: new Map([['pkts_toserver', whole(count)], ['pkts_toclient', whole(count)], ['bytes_toserver', whole(count)], ['bytes_toclient', whole(count)]]) },
};

/** The record less its moved fields, one level into the objects `within` names. An own `__proto__` key keeps the object as it came. */
function remainder(r: Rec, moved: Moved, within?: Record<string, Moved>): Rec {
  if (Object.hasOwn(r, '__proto__')) return r;
  const out: Rec = {};
  for (const k in r) {
    const v = r[k];
    if (moved.get(k)?.(v)) continue;
    const inner = within && Object.hasOwn(within, k) ? within[k] : undefined;
    out[k] = inner && isRecord(v) ? remainder(v, inner) : v;
  }
  return out;
}

export function mapSuricata(e: Rec): DraftOutcome {
  const eventType = str(e.event_type);
  if (!eventType) return { ok: false, reason: 'suricata: event_type missing or not a string' };
  if (!DATASET_RE.test(eventType)) return { ok: false, reason: `suricata: invalid event_type ${JSON.stringify(eventType.slice(0, 64))}` };
  const ts = canonicalTime(e.timestamp);
  if (!ts) return { ok: false, reason: `suricata: invalid or missing timestamp ${JSON.stringify(e.timestamp)?.slice(0, 64)}` };
  const proto = str(e.proto)?.toLowerCase();
  const srcIp = str(e.src_ip), dstIp = str(e.dest_ip);
  const base: Draft = {
    '@timestamp': ts,
    event: { kind: 'event', category: [], type: [], dataset: `suricata.${eventType}`, module: 'suricata' },
    source: { ip: srcIp, port: port(e.src_port) },
    destination: { ip: dstIp, port: port(e.dest_port) },
    network: { transport: clip(proto, 32), protocol: clip(str(e.app_proto)?.toLowerCase(), 64), community_id: clip(str(e.community_id), 128) },
    observer: { hostname: clip(str(e.host), 256) },
    suricata: { eve: remainder(e, MOVED, Object.hasOwn(MOVED_WITHIN, eventType) ? MOVED_WITHIN[eventType] : undefined) },
  };
  const draft = mergeInto(base, EXTRAS[eventType]?.(e, proto) ?? {});
  const related = distinct(srcIp, dstIp);
  if (related) draft.related = { ip: related };
  return { ok: true, draft };
}

