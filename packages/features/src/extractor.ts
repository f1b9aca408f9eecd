import { FEATURE_COUNT, FEATURE_NAMES, type FeatureVector } from './features.ts';
import type { Flow } from './flow.ts';
import { Queue, Ring, bump } from './ring.ts';
import { CONN_STATE_TO_FLAG, FLAGS, PROTOCOLS, RERROR_FLAGS, SERROR_FLAGS, SERVICES, indexer, kddService } from './vocab.ts';

export interface ExtractorOptions {
  /** Length of the time-based window, seconds (KDD: 2). */
  timeWindowS?: number;
  /** Connections kept per destination host and per service for the host-based features (KDD: 100). */
  hostWindow?: number;
  /** Destination hosts tracked at once; the least recently seen is forgotten beyond this. */
  maxHosts?: number;
  /** Flows kept in the time window whatever their age, so a flood cannot exhaust memory. */
  maxTimeWindowFlows?: number;
  /** How far behind the newest flow a flow may start and still enter the windows, seconds. */
  lateToleranceS?: number;
}

export interface ExtractorStats {
  flows: number;
  /** Flows older than the tolerance: featurised against the current windows but not added to them. */
  late: number;
  trackedHosts: number;
  timeWindowFlows: number;
}

interface TimeEntry { ts: number; host: string; srv: number; serror: boolean; rerror: boolean }
interface TimeCounts { n: number; serror: number; rerror: number; by: Map<string | number, number> }
interface HostEntry { srv: number; srcPort: number; serror: boolean; rerror: boolean }
interface SrvCounts { n: number; serror: number; rerror: number }
interface HostWindow { ring: Ring<HostEntry>; n: number; serror: number; rerror: number; bySrv: Map<number, SrvCounts>; bySrcPort: Map<number, number> }
interface ServiceWindow { ring: Ring<string>; byHost: Map<string, number> }

const PROTOCOL_INDEX = indexer(PROTOCOLS);
const SERVICE_INDEX = indexer(SERVICES);
const FLAG_INDEX = indexer(FLAGS);
/** Output positions by feature name, from FEATURES, so the extractor cannot write a wrong column. */
const F: Record<string, number> = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i]));

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Online NSL-KDD feature extractor. Each `push` costs O(1) amortised: every window keeps running
 * counts that are updated when a flow enters or leaves it, never rescanned. Memory is bounded by
 * `maxTimeWindowFlows` + `maxHosts` × `hostWindow` + services × `hostWindow`.
 *
 * Time: windows follow event time. The watermark is the newest `ts` seen; the 2 s window holds the
 * flows with ts in (watermark − 2 s, watermark]. A flow up to `lateToleranceS` behind the watermark
 * enters the windows as if on time; an older one is featurised against the current windows but not
 * added, so a delayed batch cannot resurrect a window that has already moved on.
 */
export class FlowFeatureExtractor {
  private readonly timeWindowS: number;
  private readonly hostWindow: number;
  private readonly maxHosts: number;
  private readonly maxTimeWindowFlows: number;
  private readonly lateToleranceS: number;
  private watermark = -Infinity;
  private readonly timeQueue = new Queue<TimeEntry>();
  private readonly timeByHost = new Map<string, TimeCounts>();
  private readonly timeBySrv = new Map<number, TimeCounts>();
  private readonly hosts = new Map<string, HostWindow>();
  private readonly services = new Map<number, ServiceWindow>();
  private flows = 0;
  private late = 0;

  constructor(opts: ExtractorOptions = {}) {
    this.timeWindowS = opts.timeWindowS ?? 2;
    this.hostWindow = opts.hostWindow ?? 100;
    this.maxHosts = opts.maxHosts ?? 50_000;
    this.maxTimeWindowFlows = opts.maxTimeWindowFlows ?? 200_000;
    this.lateToleranceS = opts.lateToleranceS ?? 1;
  }

  get stats(): ExtractorStats {
    return { flows: this.flows, late: this.late, trackedHosts: this.hosts.size, timeWindowFlows: this.timeQueue.size };
  }

  /** Features of `flow` given the flows pushed before it; then the flow joins the windows. */
  push(flow: Flow, out: FeatureVector = new Float32Array(FEATURE_COUNT)): FeatureVector {
    this.flows++;
    const flag = CONN_STATE_TO_FLAG[flow.connState] ?? 'OTH';
    const srv = SERVICE_INDEX(kddService(flow.service === '-' ? '' : flow.service, flow.proto, flow.srcPort, flow.dstPort));
    const serror = SERROR_FLAGS.has(flag);
    const rerror = RERROR_FLAGS.has(flag);
    const onTime = flow.ts >= this.watermark - this.lateToleranceS;
    if (!onTime) this.late++;

    out[F.duration!] = Math.max(0, flow.duration);
    out[F.protocol_type!] = PROTOCOL_INDEX(flow.proto);
    out[F.service!] = srv;
    out[F.flag!] = FLAG_INDEX(flag);
    out[F.src_bytes!] = flow.srcBytes;
    out[F.dst_bytes!] = flow.dstBytes;
    out[F.land!] = flow.srcIp === flow.dstIp && flow.srcPort === flow.dstPort ? 1 : 0;

    const entry: TimeEntry = { ts: flow.ts, host: flow.dstIp, srv, serror, rerror };
    if (onTime) {
      this.watermark = Math.max(this.watermark, flow.ts);
      this.evictTime();
      this.timeQueue.push(entry);
      this.addTime(entry, 1);
      this.timeFeatures(entry, out);
    } else {
      // Count the late flow in its own features only, as if it had joined the windows.
      this.addTime(entry, 1);
      this.timeFeatures(entry, out);
      this.addTime(entry, -1);
    }

    this.hostFeatures(flow, srv, out);
    if (onTime) this.addHost(flow, { srv, srcPort: flow.srcPort, serror, rerror });
    return out;
  }

  private evictTime(): void {
    const horizon = this.watermark - this.timeWindowS;
    for (let e = this.timeQueue.peek(); e && (e.ts <= horizon || this.timeQueue.size >= this.maxTimeWindowFlows); e = this.timeQueue.peek()) {
      this.timeQueue.shift();
      this.addTime(e, -1);
    }
  }

  /** Adds (sign 1) or removes (sign −1) one flow's share of the 2 s running counts. */
  private addTime(e: TimeEntry, sign: 1 | -1): void {
    bumpCounts(this.timeByHost, e.host, e.srv, e, sign);
    bumpCounts(this.timeBySrv, e.srv, e.host, e, sign);
  }

  private timeFeatures(e: TimeEntry, out: FeatureVector): void {
    const h = this.timeByHost.get(e.host)!;
    const s = this.timeBySrv.get(e.srv)!;
    const sameSrv = h.by.get(e.srv) ?? 0;
    const sameHost = s.by.get(e.host) ?? 0;
    out[F.count!] = h.n;
    out[F.srv_count!] = s.n;
    out[F.serror_rate!] = ratio(h.serror, h.n);
    out[F.srv_serror_rate!] = ratio(s.serror, s.n);
    out[F.rerror_rate!] = ratio(h.rerror, h.n);
    out[F.srv_rerror_rate!] = ratio(s.rerror, s.n);
    out[F.same_srv_rate!] = ratio(sameSrv, h.n);
    out[F.diff_srv_rate!] = ratio(h.n - sameSrv, h.n);
    out[F.srv_diff_host_rate!] = ratio(s.n - sameHost, s.n);
  }

  private hostFeatures(flow: Flow, srv: number, out: FeatureVector): void {
    const h = this.hosts.get(flow.dstIp);
    const n = h?.n ?? 0;
    const sc = h?.bySrv.get(srv);
    const srvN = sc?.n ?? 0;
    out[F.dst_host_count!] = n;
    out[F.dst_host_srv_count!] = srvN;
    out[F.dst_host_same_srv_rate!] = ratio(srvN, n);
    out[F.dst_host_diff_srv_rate!] = ratio(n - srvN, n);
    out[F.dst_host_same_src_port_rate!] = ratio(h?.bySrcPort.get(flow.srcPort) ?? 0, n);
    out[F.dst_host_serror_rate!] = ratio(h?.serror ?? 0, n);
    out[F.dst_host_srv_serror_rate!] = ratio(sc?.serror ?? 0, srvN);
    out[F.dst_host_rerror_rate!] = ratio(h?.rerror ?? 0, n);
    out[F.dst_host_srv_rerror_rate!] = ratio(sc?.rerror ?? 0, srvN);
    const sw = this.services.get(srv);
    const m = sw?.ring.size ?? 0;
    out[F.dst_host_srv_diff_host_rate!] = ratio(m - (sw?.byHost.get(flow.dstIp) ?? 0), m);
  }

  private addHost(flow: Flow, e: HostEntry): void {
    let h = this.hosts.get(flow.dstIp);
    if (h) {
      this.hosts.delete(flow.dstIp); // re-insert: Map order is the LRU order
    } else {
      h = { ring: new Ring<HostEntry>(this.hostWindow), n: 0, serror: 0, rerror: 0, bySrv: new Map(), bySrcPort: new Map() };
      if (this.hosts.size >= this.maxHosts) this.hosts.delete(this.hosts.keys().next().value!);
    }
    this.hosts.set(flow.dstIp, h);
    const old = h.ring.push(e);
    if (old) hostCounts(h, old, -1);
    hostCounts(h, e, 1);

    let sw = this.services.get(e.srv);
    if (!sw) this.services.set(e.srv, (sw = { ring: new Ring<string>(this.hostWindow), byHost: new Map() }));
    const oldHost = sw.ring.push(flow.dstIp);
    if (oldHost !== undefined) bump(sw.byHost, oldHost, -1);
    bump(sw.byHost, flow.dstIp, 1);
  }
}

function bumpCounts<K>(m: Map<K, TimeCounts>, key: K, other: string | number, e: TimeEntry, sign: 1 | -1): void {
  let c = m.get(key);
  if (!c) m.set(key, (c = { n: 0, serror: 0, rerror: 0, by: new Map() }));
  c.n += sign;
  if (e.serror) c.serror += sign;
  if (e.rerror) c.rerror += sign;
  bump(c.by, other, sign);
  if (c.n === 0) m.delete(key);
}

function hostCounts(h: HostWindow, e: HostEntry, sign: 1 | -1): void {
  h.n += sign;
  if (e.serror) h.serror += sign;
  if (e.rerror) h.rerror += sign;
  bump(h.bySrcPort, e.srcPort, sign);
  let s = h.bySrv.get(e.srv);
  if (!s) h.bySrv.set(e.srv, (s = { n: 0, serror: 0, rerror: 0 }));
  s.n += sign;
  if (e.serror) s.serror += sign;
  if (e.rerror) s.rerror += sign;
  if (s.n === 0) h.bySrv.delete(e.srv);
}
