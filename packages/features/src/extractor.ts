import { FEATURE_COUNT, FEATURE_NAMES, type FeatureVector } from './features.ts';
import type { Flow } from './flow.ts';
import { CountTable, Ring } from './ring.ts';
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

interface TimeCounts { n: number; serror: number; rerror: number }
/**
 * A destination host, kept (in `hosts`, under its address) while any window counts it: flows in the
 * 2 s window (`t*`), its own connection window (`win`, while the recency list tracks it) or entries
 * in service windows (`svcRefs`). The windows hold the object itself, so an eviction looks nothing up.
 */
interface Host {
  readonly ip: string;
  tN: number; tSerror: number; tRerror: number;
  /**
   * 2 s flows by service slot: also the service's flows to this host (srv_diff_host_rate). While
   * they are all of one service they are counted in `tSlot`/`tSlotN`, so that a flood of hosts seen
   * once needs no array each; `tBySrv` takes over at the second service.
   */
  tSlot: number; tSlotN: number; tBySrv: Int32Array | undefined;
  win: HostWindow | undefined;
  /** Neighbours in the recency list of tracked hosts, so a repeat visit moves no Map entry. */
  older: Host | undefined; newer: Host | undefined;
  svcRefs: number;
  /** Entries of this host in each service slot's window. */
  svcBySrv: Int32Array | undefined;
}
/**
 * The last `hostWindow` connections to a host, as parallel rings (source port; flow code), with their
 * running counts; `bySrv` holds n, serror, rerror per service slot. The rings start small and double
 * up to `hostWindow` while they fill (they do not wrap before), so a host seen once costs little.
 */
interface HostWindow {
  ports: Float64Array; codes: Int32Array; start: number; len: number;
  n: number; serror: number; rerror: number; readonly bySrv: Int32Array; readonly bySrcPort: CountTable;
}
/** What a connection state contributes: its KDD flag's index and error classes. */
interface StateCode { flag: number; serror: boolean; rerror: boolean }

/** Service slot = KDD service index + 1, so that unknown (−1) has slot 0. */
const SLOTS = SERVICES.length + 1;
/** A flow's share of the windows in one integer: its service slot and two error bits. */
const SERROR = 1 << 8;
const RERROR = 1 << 9;
const SLOT_MASK = 0xff;

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
  private readonly timeQueue = new TimeQueue();
  /** By service slot: a KDD service's 2 s counts, kept when they fall to zero. */
  private readonly timeBySrv: TimeCounts[] = Array.from({ length: SLOTS }, () => ({ n: 0, serror: 0, rerror: 0 }));
  private readonly hosts = new Map<string, Host>();
  /** Hosts with a connection window, at most maxHosts; the recency list's ends: least recently seen first. */
  private tracked = 0;
  private oldestHost: Host | undefined;
  private newestHost: Host | undefined;
  /** By service slot: the hosts of the service's last `hostWindow` connections. */
  private readonly services: (Ring<Host> | undefined)[] = new Array<Ring<Host> | undefined>(SLOTS).fill(undefined);
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
    return { flows: this.flows, late: this.late, trackedHosts: this.tracked, timeWindowFlows: this.timeQueue.size };
  }

  /**
   * Features of `flow` given the flows pushed before it; then the flow joins the windows. They are
   * written to `out` from position `at`, so a caller may fill a batch matrix in place.
   */
  push(flow: Flow, out: FeatureVector = new Float32Array(FEATURE_COUNT), at = 0): FeatureVector {
    this.flows++;
    const st = STATE_CODES.get(flow.connState) ?? stateCode(CONN_STATE_TO_FLAG[flow.connState] ?? 'OTH');
    const srv = SERVICE_INDEX(kddService(flow.service === '-' ? '' : flow.service, flow.proto, flow.srcPort, flow.dstPort));
    const code = (srv + 1) | (st.serror ? SERROR : 0) | (st.rerror ? RERROR : 0);
    const onTime = flow.ts >= this.watermark - this.lateToleranceS;
    if (!onTime) this.late++;

    out[at + F.duration!] = Math.max(0, flow.duration);
    out[at + F.protocol_type!] = PROTOCOL_INDEX(flow.proto);
    out[at + F.service!] = srv;
    out[at + F.flag!] = st.flag;
    out[at + F.src_bytes!] = flow.srcBytes;
    out[at + F.dst_bytes!] = flow.dstBytes;
    out[at + F.land!] = flow.srcIp === flow.dstIp && flow.srcPort === flow.dstPort ? 1 : 0;

    if (onTime) {
      this.watermark = Math.max(this.watermark, flow.ts);
      // Before the host is looked up: an eviction may forget it.
      this.evictTime();
    }
    let host = this.hosts.get(flow.dstIp);
    if (!host) this.hosts.set(flow.dstIp, (host = newHost(flow.dstIp)));
    this.timeFeatures(host, code, out, at);
    if (onTime) this.timeQueue.push(flow.ts, host, code);
    // Count the late flow in its own features only, as if it had joined the windows.
    else this.removeTime(host, code);
    this.hostFeatures(host, code & SLOT_MASK, flow.srcPort, out, at);
    if (onTime) this.addHost(host, code, flow.srcPort);
    else this.release(host);
    return out;
  }

  private evictTime(): void {
    const horizon = this.watermark - this.timeWindowS;
    const q = this.timeQueue;
    while (q.size > 0 && (q.ts[q.head]! <= horizon || q.size >= this.maxTimeWindowFlows)) {
      const h = q.hosts[q.head]!;
      const code = q.codes[q.head]!;
      q.shift();
      this.removeTime(h, code);
      this.release(h);
    }
  }

  /** Removes one flow's share of the 2 s running counts (timeFeatures adds it). */
  private removeTime(h: Host, code: number): void {
    const slot = code & SLOT_MASK;
    h.tN--;
    if (h.tBySrv) h.tBySrv[slot]!--;
    else h.tSlotN--;
    const s = this.timeBySrv[slot]!;
    s.n--;
    if (code & SERROR) h.tSerror--, s.serror--;
    if (code & RERROR) h.tRerror--, s.rerror--;
  }

  /** Adds the flow to the 2 s running counts and reads its time features from them. */
  private timeFeatures(h: Host, code: number, out: FeatureVector, at: number): void {
    const slot = code & SLOT_MASK;
    const s = this.timeBySrv[slot]!;
    h.tN++;
    s.n++;
    if (code & SERROR) h.tSerror++, s.serror++;
    if (code & RERROR) h.tRerror++, s.rerror++;
    // The host's flows to this service are also the service's flows to this host (srv_diff_host_rate).
    const sameSrv = countSrv(h, slot);
    out[at + F.count!] = h.tN;
    out[at + F.srv_count!] = s.n;
    out[at + F.serror_rate!] = ratio(h.tSerror, h.tN);
    out[at + F.srv_serror_rate!] = ratio(s.serror, s.n);
    out[at + F.rerror_rate!] = ratio(h.tRerror, h.tN);
    out[at + F.srv_rerror_rate!] = ratio(s.rerror, s.n);
    out[at + F.same_srv_rate!] = ratio(sameSrv, h.tN);
    out[at + F.diff_srv_rate!] = ratio(h.tN - sameSrv, h.tN);
    out[at + F.srv_diff_host_rate!] = ratio(s.n - sameSrv, s.n);
  }

  private hostFeatures(h: Host, slot: number, srcPort: number, out: FeatureVector, at: number): void {
    const w = h.win;
    const n = w?.n ?? 0;
    const srvN = w?.bySrv[3 * slot] ?? 0;
    out[at + F.dst_host_count!] = n;
    out[at + F.dst_host_srv_count!] = srvN;
    out[at + F.dst_host_same_srv_rate!] = ratio(srvN, n);
    out[at + F.dst_host_diff_srv_rate!] = ratio(n - srvN, n);
    out[at + F.dst_host_same_src_port_rate!] = ratio(w?.bySrcPort.get(srcPort) ?? 0, n);
    out[at + F.dst_host_serror_rate!] = ratio(w?.serror ?? 0, n);
    out[at + F.dst_host_srv_serror_rate!] = ratio(w?.bySrv[3 * slot + 1] ?? 0, srvN);
    out[at + F.dst_host_rerror_rate!] = ratio(w?.rerror ?? 0, n);
    out[at + F.dst_host_srv_rerror_rate!] = ratio(w?.bySrv[3 * slot + 2] ?? 0, srvN);
    const m = this.services[slot]?.size ?? 0;
    out[at + F.dst_host_srv_diff_host_rate!] = ratio(m - (h.svcBySrv?.[slot] ?? 0), m);
  }

  /** The flow joins its destination's and its service's windows. */
  private addHost(h: Host, code: number, srcPort: number): void {
    let w = h.win;
    if (!w) {
      if (this.tracked >= this.maxHosts) this.forgetOldestHost();
      h.win = w = newWindow(this.hostWindow);
      this.tracked++;
      this.makeNewest(h);
    } else if (h !== this.newestHost) {
      this.unlink(h);
      this.makeNewest(h);
    }
    if (w.len < this.hostWindow) {
      if (w.len === w.ports.length) growWindow(w, Math.min(2 * w.len, this.hostWindow));
      w.ports[w.len] = srcPort;
      w.codes[w.len++] = code;
      windowCounts(w, code, srcPort, 1);
    } else {
      const oldCode = w.codes[w.start]!;
      const oldPort = w.ports[w.start]!;
      w.ports[w.start] = srcPort;
      w.codes[w.start] = code;
      w.start = (w.start + 1) % this.hostWindow;
      replaceCounts(w, oldCode, oldPort, code, srcPort);
    }

    const slot = code & SLOT_MASK;
    const ring = (this.services[slot] ??= new Ring<Host>(this.hostWindow));
    const old = ring.push(h);
    // The counts are only read by key: a host replacing itself changes nothing.
    if (old === h) return;
    if (old) {
      old.svcBySrv![slot]!--;
      old.svcRefs--;
      this.release(old);
    }
    (h.svcBySrv ??= new Int32Array(SLOTS))[slot]!++;
    h.svcRefs++;
  }

  /** Drops a host that no window counts any more. */
  private release(h: Host): void {
    if (h.tN === 0 && h.win === undefined && h.svcRefs === 0) this.hosts.delete(h.ip);
  }

  private forgetOldestHost(): void {
    const h = this.oldestHost!;
    this.unlink(h);
    h.win = undefined;
    this.tracked--;
    this.release(h);
  }

  private unlink(h: Host): void {
    if (h.older) h.older.newer = h.newer;
    else this.oldestHost = h.newer;
    if (h.newer) h.newer.older = h.older;
    else this.newestHost = h.older;
    h.older = h.newer = undefined;
  }

  private makeNewest(h: Host): void {
    h.older = this.newestHost;
    if (this.newestHost) this.newestHost.newer = h;
    else this.oldestHost = h;
    this.newestHost = h;
  }
}

const newHost = (ip: string): Host => ({
  ip, tN: 0, tSerror: 0, tRerror: 0, tSlot: 0, tSlotN: 0, tBySrv: undefined, win: undefined, older: undefined, newer: undefined, svcRefs: 0, svcBySrv: undefined,
});

/** Adds a 2 s flow of service `slot` to the host's counts; returns the host's flows of that service. */
function countSrv(h: Host, slot: number): number {
  if (h.tBySrv) return ++h.tBySrv[slot]!;
  if (h.tSlotN === 0 || h.tSlot === slot) {
    h.tSlot = slot;
    return ++h.tSlotN;
  }
  h.tBySrv = new Int32Array(SLOTS);
  h.tBySrv[h.tSlot] = h.tSlotN;
  return ++h.tBySrv[slot]!;
}

const newWindow = (hostWindow: number): HostWindow => ({
  ports: new Float64Array(Math.min(8, hostWindow)), codes: new Int32Array(Math.min(8, hostWindow)), start: 0, len: 0,
  n: 0, serror: 0, rerror: 0, bySrv: new Int32Array(3 * SLOTS), bySrcPort: new CountTable(),
});

function growWindow(w: HostWindow, capacity: number): void {
  const ports = new Float64Array(capacity);
  const codes = new Int32Array(capacity);
  ports.set(w.ports);
  codes.set(w.codes);
  w.ports = ports;
  w.codes = codes;
}

/** Moves a host window's counts by one connection (`code`, `srcPort`). */
function windowCounts(w: HostWindow, code: number, srcPort: number, sign: 1 | -1): void {
  const k = 3 * (code & SLOT_MASK);
  w.n += sign;
  w.bySrv[k]! += sign;
  if (code & SERROR) w.serror += sign, (w.bySrv[k + 1]! += sign);
  if (code & RERROR) w.rerror += sign, (w.bySrv[k + 2]! += sign);
  w.bySrcPort.add(srcPort, sign);
}

/**
 * windowCounts(w, old, −1) then windowCounts(w, new, 1), skipping the updates that cancel out (the
 * same source port, the same service): the counts are only ever read by key.
 */
function replaceCounts(w: HostWindow, oldCode: number, oldPort: number, code: number, srcPort: number): void {
  if ((oldCode & SLOT_MASK) !== (code & SLOT_MASK)) {
    windowCounts(w, oldCode, oldPort, -1);
    windowCounts(w, code, srcPort, 1);
    return;
  }
  const k = 3 * (code & SLOT_MASK);
  const d = (code & SERROR ? 1 : 0) - (oldCode & SERROR ? 1 : 0);
  const r = (code & RERROR ? 1 : 0) - (oldCode & RERROR ? 1 : 0);
  w.serror += d;
  w.rerror += r;
  w.bySrv[k + 1]! += d;
  w.bySrv[k + 2]! += r;
  if (oldPort !== srcPort) {
    w.bySrcPort.add(oldPort, -1);
    w.bySrcPort.add(srcPort, 1);
  }
}

/**
 * The 2 s window in arrival order, as parallel arrays in a ring that doubles when full (it holds
 * at most maxTimeWindowFlows): no object per flow, nothing copied on shift.
 */
class TimeQueue {
  ts = new Float64Array(1024);
  hosts: (Host | undefined)[] = new Array<Host | undefined>(1024).fill(undefined);
  codes = new Int32Array(1024);
  head = 0;
  size = 0;

  push(ts: number, h: Host, code: number): void {
    if (this.size === this.ts.length) this.grow();
    const i = (this.head + this.size++) & (this.ts.length - 1);
    this.ts[i] = ts;
    this.hosts[i] = h;
    this.codes[i] = code;
  }

  shift(): void {
    this.hosts[this.head] = undefined;
    this.head = (this.head + 1) & (this.ts.length - 1);
    this.size--;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const order = (i: number) => (this.head + i) & (this.ts.length - 1);
    const ts = new Float64Array(cap);
    const codes = new Int32Array(cap);
    const hosts = new Array<Host | undefined>(cap).fill(undefined);
    for (let i = 0; i < this.size; i++) {
      ts[i] = this.ts[order(i)]!;
      codes[i] = this.codes[order(i)]!;
      hosts[i] = this.hosts[order(i)];
    }
    this.ts = ts;
    this.codes = codes;
    this.hosts = hosts;
    this.head = 0;
  }
}
