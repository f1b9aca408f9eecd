import { FEATURE_COUNT, FEATURE_NAMES, type FeatureVector } from './features.ts';
import type { Flow } from './flow.ts';
import { Queue, Ring, bump } from './ring.ts';
import { CONN_STATE_TO_FLAG, FLAGS, PROTOCOLS, RERROR_FLAGS, SERROR_FLAGS, SERVICES, indexer, kddService, type KddFlag } from './vocab.ts';

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

/** One flow's share of the windows: the same object sits in the 2 s queue and in its host's ring. */
interface Entry { ts: number; host: string; srv: number; srcPort: number; serror: boolean; rerror: boolean }
interface TimeCounts { n: number; serror: number; rerror: number }
/** A host's 2 s counts, with its flows per service: they are also the service's flows to that host. */
interface HostTimeCounts extends TimeCounts { bySrv: Map<number, number> }
interface SrvCounts { n: number; serror: number; rerror: number }
/** `older`/`newer`: neighbours in the hosts' recency list, so a repeat visit moves no Map entry. */
interface HostWindow {
  host: string; ring: Ring<Entry>; n: number; serror: number; rerror: number; bySrv: Map<number, SrvCounts>; bySrcPort: Map<number, number>;
  older: HostWindow | undefined; newer: HostWindow | undefined;
}
interface ServiceWindow { ring: Ring<string>; byHost: Map<string, number> }
/** What a connection state contributes: its KDD flag's index and error classes. */
interface StateCode { flag: number; serror: boolean; rerror: boolean }

const PROTOCOL_INDEX = indexer(PROTOCOLS);
const SERVICE_INDEX = indexer(SERVICES);
const FLAG_INDEX = indexer(FLAGS);
const stateCode = (flag: string): StateCode => ({ flag: FLAG_INDEX(flag), serror: SERROR_FLAGS.has(flag as KddFlag), rerror: RERROR_FLAGS.has(flag as KddFlag) });
/** Per connection state, worked out once instead of three lookups per flow. */
const STATE_CODES = new Map<string, StateCode>(Object.entries(CONN_STATE_TO_FLAG).map(([state, flag]) => [state, stateCode(flag)]));
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
  private readonly timeQueue = new Queue<Entry>();
  private readonly timeByHost = new Map<string, HostTimeCounts>();
  /** By service index + 1 (unknown is −1): a slot per KDD service, kept when its count falls to zero. */
  private readonly timeBySrv: TimeCounts[] = Array.from({ length: SERVICES.length + 1 }, () => ({ n: 0, serror: 0, rerror: 0 }));
  private readonly hosts = new Map<string, HostWindow>();
  /** Ends of the recency list through `hosts`' windows: the least recently seen goes first. */
  private oldestHost: HostWindow | undefined;
  private newestHost: HostWindow | undefined;
  private readonly services: (ServiceWindow | undefined)[] = new Array<ServiceWindow | undefined>(SERVICES.length + 1);
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

  /**
   * Features of `flow` given the flows pushed before it; then the flow joins the windows. They are
   * written to `out` from position `at`, so a caller may fill a batch matrix in place.
   */
  push(flow: Flow, out: FeatureVector = new Float32Array(FEATURE_COUNT), at = 0): FeatureVector {
    this.flows++;
    const st = STATE_CODES.get(flow.connState) ?? stateCode(CONN_STATE_TO_FLAG[flow.connState] ?? 'OTH');
    const srv = SERVICE_INDEX(kddService(flow.service === '-' ? '' : flow.service, flow.proto, flow.srcPort, flow.dstPort));
    const onTime = flow.ts >= this.watermark - this.lateToleranceS;
    if (!onTime) this.late++;

    out[at + F.duration!] = Math.max(0, flow.duration);
    out[at + F.protocol_type!] = PROTOCOL_INDEX(flow.proto);
    out[at + F.service!] = srv;
    out[at + F.flag!] = st.flag;
    out[at + F.src_bytes!] = flow.srcBytes;
    out[at + F.dst_bytes!] = flow.dstBytes;
    out[at + F.land!] = flow.srcIp === flow.dstIp && flow.srcPort === flow.dstPort ? 1 : 0;

    const entry: Entry = { ts: flow.ts, host: flow.dstIp, srv, srcPort: flow.srcPort, serror: st.serror, rerror: st.rerror };
    if (onTime) {
      this.watermark = Math.max(this.watermark, flow.ts);
      this.evictTime();
      this.timeQueue.push(entry);
      this.timeFeatures(entry, out, at);
    } else {
      // Count the late flow in its own features only, as if it had joined the windows.
      this.timeFeatures(entry, out, at);
      this.removeTime(entry);
    }

    const h = this.hosts.get(flow.dstIp);
    const sw = this.services[srv + 1];
    this.hostFeatures(h, sw, flow, srv, out, at);
    if (onTime) this.addHost(h, sw, entry);
    return out;
  }

  private evictTime(): void {
    const horizon = this.watermark - this.timeWindowS;
    for (let e = this.timeQueue.peek(); e && (e.ts <= horizon || this.timeQueue.size >= this.maxTimeWindowFlows); e = this.timeQueue.peek()) {
      this.timeQueue.shift();
      this.removeTime(e);
    }
  }

  /** Removes one flow's share of the 2 s running counts (timeFeatures adds it). */
  private removeTime(e: Entry): void {
    bumpHostCounts(this.timeByHost, e, -1);
    countFlow(this.timeBySrv[e.srv + 1]!, e, -1);
  }

  /** Adds the flow to the 2 s running counts and reads its time features from them. */
  private timeFeatures(e: Entry, out: FeatureVector, at: number): void {
    const h = bumpHostCounts(this.timeByHost, e, 1);
    const s = countFlow(this.timeBySrv[e.srv + 1]!, e, 1);
    // The host's flows to this service are also the service's flows to this host (srv_diff_host_rate).
    const sameSrv = h.bySrv.get(e.srv) ?? 0;
    out[at + F.count!] = h.n;
    out[at + F.srv_count!] = s.n;
    out[at + F.serror_rate!] = ratio(h.serror, h.n);
    out[at + F.srv_serror_rate!] = ratio(s.serror, s.n);
    out[at + F.rerror_rate!] = ratio(h.rerror, h.n);
    out[at + F.srv_rerror_rate!] = ratio(s.rerror, s.n);
    out[at + F.same_srv_rate!] = ratio(sameSrv, h.n);
    out[at + F.diff_srv_rate!] = ratio(h.n - sameSrv, h.n);
    out[at + F.srv_diff_host_rate!] = ratio(s.n - sameSrv, s.n);
  }

  private hostFeatures(h: HostWindow | undefined, sw: ServiceWindow | undefined, flow: Flow, srv: number, out: FeatureVector, at: number): void {
    const n = h?.n ?? 0;
    const sc = h?.bySrv.get(srv);
    const srvN = sc?.n ?? 0;
    out[at + F.dst_host_count!] = n;
    out[at + F.dst_host_srv_count!] = srvN;
    out[at + F.dst_host_same_srv_rate!] = ratio(srvN, n);
    out[at + F.dst_host_diff_srv_rate!] = ratio(n - srvN, n);
    out[at + F.dst_host_same_src_port_rate!] = ratio(h?.bySrcPort.get(flow.srcPort) ?? 0, n);
    out[at + F.dst_host_serror_rate!] = ratio(h?.serror ?? 0, n);
    out[at + F.dst_host_srv_serror_rate!] = ratio(sc?.serror ?? 0, srvN);
    out[at + F.dst_host_rerror_rate!] = ratio(h?.rerror ?? 0, n);
    out[at + F.dst_host_srv_rerror_rate!] = ratio(sc?.rerror ?? 0, srvN);
    const m = sw?.ring.size ?? 0;
    out[at + F.dst_host_srv_diff_host_rate!] = ratio(m - (sw?.byHost.get(flow.dstIp) ?? 0), m);
  }

  /** The flow joins its destination's and its service's windows (`h`, `sw`: their current state, if any). */
  private addHost(h: HostWindow | undefined, sw: ServiceWindow | undefined, e: Entry): void {
    if (!h) {
      h = { host: e.host, ring: new Ring<Entry>(this.hostWindow), n: 0, serror: 0, rerror: 0, bySrv: new Map(), bySrcPort: new Map(), older: undefined, newer: undefined };
      if (this.hosts.size >= this.maxHosts) this.forgetOldestHost();
      this.hosts.set(e.host, h);
      this.makeNewest(h);
    } else if (h !== this.newestHost) {
      this.unlink(h);
      this.makeNewest(h);
    }
    const old = h.ring.push(e);
    if (old) replaceCounts(h, old, e);
    else hostCounts(h, e, 1);

    if (!sw) this.services[e.srv + 1] = sw = { ring: new Ring<string>(this.hostWindow), byHost: new Map() };
    const oldHost = sw.ring.push(e.host);
    // The counts are only read by key: a host replacing itself changes nothing.
    if (oldHost === e.host) return;
    if (oldHost !== undefined) bump(sw.byHost, oldHost, -1);
    bump(sw.byHost, e.host, 1);
  }

  private forgetOldestHost(): void {
    const h = this.oldestHost!;
    this.unlink(h);
    this.hosts.delete(h.host);
  }

  private unlink(h: HostWindow): void {
    if (h.older) h.older.newer = h.newer;
    else this.oldestHost = h.newer;
    if (h.newer) h.newer.older = h.older;
    else this.newestHost = h.older;
    h.older = h.newer = undefined;
  }

  private makeNewest(h: HostWindow): void {
    h.older = this.newestHost;
    if (this.newestHost) this.newestHost.newer = h;
    else this.oldestHost = h;
    this.newestHost = h;
  }
}

/** Moves counts `c` by one flow; returns `c`. */
function countFlow<C extends TimeCounts>(c: C, e: Entry, sign: 1 | -1): C {
  c.n += sign;
  if (e.serror) c.serror += sign;
  if (e.rerror) c.rerror += sign;
  return c;
}

/** countFlow on the flow's host's counts in `m`, which holds only hosts with flows (dropped at zero). */
function bumpHostCounts(m: Map<string, HostTimeCounts>, e: Entry, sign: 1 | -1): HostTimeCounts {
  let c = m.get(e.host);
  if (!c) m.set(e.host, (c = { n: 0, serror: 0, rerror: 0, bySrv: new Map() }));
  countFlow(c, e, sign);
  bump(c.bySrv, e.srv, sign);
  if (c.n === 0) m.delete(e.host);
  return c;
}

/**
 * hostCounts(h, old, −1) then hostCounts(h, e, 1), skipping the map updates that cancel out (the
 * same source port, the same service): the counts are only ever read by key.
 */
function replaceCounts(h: HostWindow, old: Entry, e: Entry): void {
  if (old.srv !== e.srv || old.srcPort !== e.srcPort) {
    hostCounts(h, old, -1);
    hostCounts(h, e, 1);
    return;
  }
  const d = (e.serror ? 1 : 0) - (old.serror ? 1 : 0);
  const r = (e.rerror ? 1 : 0) - (old.rerror ? 1 : 0);
  h.serror += d;
  h.rerror += r;
  const s = h.bySrv.get(e.srv)!;
  s.serror += d;
  s.rerror += r;
}

function hostCounts(h: HostWindow, e: Entry, sign: 1 | -1): void {
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
