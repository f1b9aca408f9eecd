import type { Flow } from '@soc/features';
import type { Context } from './context.ts';
import { registeredFor, TOR_PORTS } from './iana.ts';
import { FloatRing, LruMap } from './lru.ts';
import { internalClassifier } from './net.ts';
import { beaconScore, dispersion, regularity } from './stats.ts';


/**
 * Evidence scorers for one (internal host, external destination) pair, accumulated over time.
 * Each raw value grows with the evidence (never a single flow's whim); calibration turns each into
 * a tail probability on real benign traffic (the shipped reference) or on the site's baseline.
 */
export const EVIDENCE = ['service_port', 'usage', 'beacon', 'burst', 'long_lived', 'upload', 'rotation', 'tor', 'no_dns', 'tls_cert', 'direct_ip', 'rarity', 'tls_client', 'user_agent', 'anomaly'] as const;
export type EvidenceName = (typeof EVIDENCE)[number];
export type EvidenceValues = Record<EvidenceName, number>;

/** Zeek states of an attempt that was refused or never answered. */
export const FAILED_STATES: ReadonlySet<string> = new Set(['S0', 'REJ', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH']);
const BURST_S = 1;
const DAY = 86_400;
/** DNS, DNS over TLS, mDNS, LLMNR: name resolution, one flow per lookup. */
const RESOLVER_PORTS: ReadonlySet<number> = new Set([53, 853, 5353, 5355]);
/** Time constant of the burst count (s): "many connections within minutes". */
export const BURST_TAU_S = 300;
/** Beacon regularity is recomputed once an eighth of the ring is new (every 4th flow of a full ring): amortised, not per flow. */
const BEACON_REFRESH = 8;

/** The usage class of an established flow: transport, service, port class (80, 443, system, registered, dynamic). */
export function usageKey(f: Flow): string {
  const p = f.dstPort;
  const cls = p === 80 || p === 443 ? String(p) : p < 1024 ? 'system' : p < 49_152 ? 'registered' : 'dynamic';
  const svc = f.service && f.service !== '-' ? f.service.split(',')[0]! : '-';
  return `${f.proto}/${svc}/${cls}`;
}

export function established(f: Flow): boolean {
  return !FAILED_STATES.has(f.connState) && f.srcBytes > 0 && f.dstBytes > 0;
}

const zeroEvidence = (): EvidenceValues => ({
  service_port: 0, usage: 0, beacon: 0, burst: 0, long_lived: 0, upload: 0, rotation: 0, tor: 0, no_dns: 0, tls_cert: 0, direct_ip: 0, rarity: 0, tls_client: 0, user_agent: 0, anomaly: 0,
});

/** The state of one (internal host, external destination) episode: one object, fixed shape. */
export class PairEvidence {
  last: number;
  flows = 0;
  established = 0;
  failed = 0;
  bytesOut = 0;
  bytesIn = 0;
  /** Up to 4 distinct destination ports, most recent protocol name. */
  ports: number[] = [];
  service = '-';
  hoursActive = 1;
  lastHour: number;
  intervals: FloatRing | undefined = undefined;
  sizes: FloatRing | undefined = undefined;
  /** New ring values since regularity was last computed. */
  stale = 0;
  /** Decayed count of established flows (time constant BURST_TAU_S), at time burstAt; not on resolver ports. */
  burstCount = 0;
  burstAt = 0;
  /** Sticky evidence. */
  mismatch = false;
  mismatchPort = 0;
  mismatchService = '';
  usageSurprise = 0;
  longest = 0;
  noDnsFlows = 0;
  tor = false;
  rotationGroup = 0;
  /** The rotation group of the last odd port this pair used, so a repeat flow needs no lookup. */
  group: Set<string> | undefined = undefined;
  groupPort = -1;
  /** Internal hosts seen talking to this destination (shared by the destination's pairs). */
  sources: string[] = [];
  /** Memo of the last flow's (service, transport, port) classification. */
  portKey = '';
  portReg: boolean | undefined = undefined;
  portUsage = 0;
  raw: EvidenceValues = zeroEvidence();
  /** The analyzer's episode bookkeeping: best statistic, what the last emitted alert showed. */
  best = 0;
  alerted = false;
  emittedFlows = 0;
  emittedBest = 0;
  emittedAt = 0;
  raisedAt = 0;
  alertId = '';
  events: string[] = [];

  tlsBad = '';
  directIp = false;
  /** Internal hosts sharing this pair's TLS client fingerprint (JA4, else JA3) and HTTP User-Agent. */
  clientHosts: string[] | undefined = undefined;
  agentHosts: string[] | undefined = undefined;
  agent = '';

  constructor(readonly host: string, readonly dest: string, readonly first: number, public proto: string, ctx: PairContext | undefined) {
    this.last = first;
    this.lastHour = Math.floor(first / 3600);
    if (ctx) applyContext(this, ctx);
  }
}

/** What protocol records said about a pair, kept until (and after) its flows arrive. */
interface PairContext {
  tlsBad: string;
  directIp: boolean;
  clientHosts?: string[];
  agentHosts?: string[];
  agent: string;
}

function applyContext(p: PairEvidence, c: PairContext): void {
  if (c.tlsBad) p.tlsBad = c.tlsBad;
  if (c.directIp) p.directIp = true;
  if (c.clientHosts) p.clientHosts = c.clientHosts;
  if (c.agentHosts) {
    p.agentHosts = c.agentHosts;
    p.agent = c.agent;
  }
}

export interface HostActivity {
  host: string;
  day: number;
  /** Failed (destination, port) attempts this hour (scan fan-out), and the day's maximum. */
  hour: number;
  failed: Set<string>;
  fanoutMax: number;
  fanoutTargets: Set<string>;
  /** Failed ports per target today (≤ 64 targets, ≤ 1024 ports each): a vertical scan of one host. */
  vertical: Map<string, Set<number>>;
  verticalMax: number;
  nxdomain: number;
  nxWindow: number;
  nxMax: number;
  nxSample: string[];
}

export interface InboundActivity {
  host: string;
  day: number;
  flows: number;
  /** Distinct sources with a failed (probing) attempt on the host. */
  probes: Set<string>;
  /** Flows per source (capped) and per port, for the alert's top lists. */
  bySource: Map<string, number>;
  byPort: Map<string, number>;
}

export interface UsageTable {
  n: number;
  counts: Record<string, number>;
}

export interface EvidenceOptions {
  internalCidrs?: readonly string[];
  /** Pairs tracked at once (default 100 000); least recently seen forgotten. */
  maxPairs?: number;
  /** Hosts tracked for scans, DNS and inbound noise (default 20 000). */
  maxHosts?: number;
  /** (host, resolved address) remembered for "no DNS lookup before it" (default 200 000). */
  maxResolutions?: number;
  /** Odd-port rotation groups (default 20 000), distinct destinations per group (default 64). */
  maxGroups?: number;
  ring?: number;
  usage?: UsageTable;
}

export type Observed =
  | { kind: 'outbound'; pair: PairEvidence; host: HostActivity }
  | { kind: 'inbound'; inbound: InboundActivity; source: HostActivity }
  | { kind: 'local'; host: HostActivity }
  | { kind: 'none' };

/**
 * Online evidence per (internal host, external destination), plus per-host scan fan-out, NXDOMAIN
 * counts and inbound Internet noise. O(1) amortised per event: every table is an LRU map, every
 * set is capped, rings hold 32 values. Bounds (defaults): 100k pairs × ≈ 0.6 KB, 20k hosts with
 * ≤ 1024 fan-out keys, 200k resolutions, 20k rotation groups × 64 destinations.
 */
export class EvidenceTracker {
  private readonly isInternal: (ip: string) => boolean;
  readonly pairs: LruMap<string, PairEvidence>;
  private readonly hosts: LruMap<string, HostActivity>;
  private readonly inbound: LruMap<string, InboundActivity>;
  private readonly resolved: LruMap<string, number>;
  private readonly dnsHosts: LruMap<string, number>;
  private readonly groups: LruMap<string, Set<string>>;
  private readonly destSources: LruMap<string, string[]>;
  /** Per pair, what its dns/ssl/http records said (flows may come after their protocol records). */
  private readonly contexts: LruMap<string, PairContext>;
  /** TLS client fingerprints and User-Agents → internal hosts using them (≤ 16 each). */
  private readonly clients: LruMap<string, string[]>;
  private readonly maxGroupDests: number;
  private readonly ring: number;
  private readonly memo = new Map<string, { reg: boolean | undefined; surprise: number }>();
  private memoUsage: UsageTable | undefined;
  usage: UsageTable;

  constructor(o: EvidenceOptions = {}) {
    this.isInternal = internalClassifier(o.internalCidrs);
    this.pairs = new LruMap(o.maxPairs ?? 100_000);
    const maxHosts = o.maxHosts ?? 20_000;
    this.hosts = new LruMap(maxHosts);
    this.inbound = new LruMap(maxHosts);
    this.dnsHosts = new LruMap(maxHosts);
    this.resolved = new LruMap(o.maxResolutions ?? 200_000);
    this.groups = new LruMap(o.maxGroups ?? 20_000);
    this.destSources = new LruMap(o.maxPairs ?? 100_000);
    this.contexts = new LruMap(o.maxPairs ?? 100_000);
    this.clients = new LruMap(o.maxGroups ?? 20_000);
    this.maxGroupDests = 64;
    this.ring = o.ring ?? 32;
    this.usage = o.usage ?? { n: 0, counts: {} };
  }

  /**
   * Whether the flow's originator is ours and its responder is not. An endpoint is ours when the
   * sensor says it is local (Zeek local_orig/local_resp: a workstation on a public address) or its
   * address is internal; a sensor without local networks configured says "not local" for
   * everything, so its "no" never overrides a private address.
   */
  direction(f: Flow): 'outbound' | 'inbound' | 'local' | 'transit' {
    const src = f.localOrig === true || this.isInternal(f.srcIp);
    const dst = f.localResp === true || this.isInternal(f.dstIp);
    if (src && !dst) return 'outbound';
    if (!src && dst) return 'inbound';
    if (src && dst) return 'local';
    return 'transit';
  }

  observeContext(c: Context): void {
    if (c.kind === 'dns') {
      this.dnsHosts.set(c.host, c.ts);
      for (const a of c.answers) this.resolved.set(`${c.host}|${a}`, c.ts);
      if (c.rcode === 'NXDOMAIN') {
        const h = this.host(c.host, c.ts);
        const win = Math.floor(c.ts / 600);
        if (win !== h.nxWindow) {
          h.nxWindow = win;
          h.nxdomain = 0;
        }
        h.nxdomain++;
        if (h.nxdomain > h.nxMax) h.nxMax = h.nxdomain;
        if (h.nxSample.length < 5 && !h.nxSample.includes(c.query)) h.nxSample.push(c.query);
      }
      return;
    }
    const key = `${c.src}|${c.dst}`;
    let ctx = this.contexts.get(key);
    if (!ctx) this.contexts.set(key, (ctx = { tlsBad: '', directIp: false, agent: '' }));
    if (c.kind === 'tls') {
      const bad = c.selfSigned ? 'self-signed certificate' : c.invalid ? 'certificate not valid' : c.serverName === '' ? 'no server name (SNI)' : '';
      if (bad) ctx.tlsBad = bad;
      const fp = c.ja4 || c.ja3;
      if (fp) ctx.clientHosts = this.sharedBy(`tls|${fp}`, c.src);
    } else {
      if (c.directIp) ctx.directIp = true;
      if (c.userAgent) {
        ctx.agentHosts = this.sharedBy(`ua|${c.userAgent}`, c.src);
        ctx.agent = c.userAgent;
      }
    }
    const p = this.pairs.get(key);
    if (p) applyContext(p, ctx);
  }

  /** The internal hosts seen with one client trait (a fingerprint, a User-Agent), `host` included. */
  private sharedBy(trait: string, host: string): string[] {
    let hosts = this.clients.get(trait);
    if (!hosts) this.clients.set(trait, (hosts = []));
    if (hosts.length < 16 && !hosts.includes(host)) hosts.push(host);
    return hosts;
  }

  observe(f: Flow): Observed {
    const dir = this.direction(f);
    // Fan-out per source in every direction: an Internet scanner is tracked like an internal one.
    const host = this.host(f.srcIp, f.ts);
    this.updateFanout(host, f);
    if (dir === 'inbound') return { kind: 'inbound', inbound: this.updateInbound(f), source: host };
    if (dir !== 'outbound') return dir === 'local' ? { kind: 'local', host } : { kind: 'none' };
    return { kind: 'outbound', pair: this.updatePair(f), host };
  }

  /** The current episode of a pair, without observing anything. */
  pair(host: string, dest: string): PairEvidence | undefined {
    return this.pairs.get(`${host}|${dest}`);
  }

  /** Today's inbound activity of one of our hosts, without observing anything. */
  inboundActivity(ip: string): InboundActivity | undefined {
    return this.inbound.get(ip);
  }

  /** Current host activity (scan fan-out, NXDOMAIN), for the analyzer. */
  hostActivity(ip: string): HostActivity | undefined {
    return this.hosts.get(ip);
  }

  private host(ip: string, ts: number): HostActivity {
    const day = Math.floor(ts / DAY);
    let h = this.hosts.get(ip);
    if (!h || h.day !== day) {
      h = { host: ip, day, hour: -1, failed: new Set(), fanoutMax: 0, fanoutTargets: new Set(), vertical: new Map(), verticalMax: 0, nxdomain: 0, nxWindow: -1, nxMax: 0, nxSample: [] };
      this.hosts.set(ip, h);
    }
    return h;
  }

  private updateFanout(h: HostActivity, f: Flow): void {
    const hour = Math.floor(f.ts / 3600);
    if (hour !== h.hour) {
      h.hour = hour;
      h.failed = new Set();
    }
    if (FAILED_STATES.has(f.connState) && h.failed.size < 1024) {
      h.failed.add(`${f.dstIp}|${f.dstPort}`);
      if (h.failed.size > h.fanoutMax) h.fanoutMax = h.failed.size;
      if (h.fanoutTargets.size < 256) h.fanoutTargets.add(f.dstIp);
      let v = h.vertical.get(f.dstIp);
      if (!v && h.vertical.size < 64) h.vertical.set(f.dstIp, (v = new Set()));
      if (v && v.size < 1024) {
        v.add(f.dstPort);
        if (v.size > h.verticalMax) h.verticalMax = v.size;
      }
    }
  }

  private updateInbound(f: Flow): InboundActivity {
    const day = Math.floor(f.ts / DAY);
    let a = this.inbound.get(f.dstIp);
    if (!a || a.day !== day) this.inbound.set(f.dstIp, (a = { host: f.dstIp, day, flows: 0, probes: new Set(), bySource: new Map(), byPort: new Map() }));
    a.flows++;
    if (a.probes.size < 65_536 && !established(f)) a.probes.add(f.srcIp);
    if (a.bySource.size < 4096 || a.bySource.has(f.srcIp)) a.bySource.set(f.srcIp, (a.bySource.get(f.srcIp) ?? 0) + 1);
    const port = `${f.dstPort}/${f.proto}`;
    if (a.byPort.size < 1024 || a.byPort.has(port)) a.byPort.set(port, (a.byPort.get(port) ?? 0) + 1);
    return a;
  }

  /**
   * IANA registration and benign-usage surprise of (service, transport, port), memoised: a pair
   * repeats its classification on almost every flow, and across pairs the distinct keys are few.
   */
  private classify(p: PairEvidence, f: Flow): void {
    const svc = f.service && f.service !== '-' ? f.service : '';
    const key = `${svc}|${f.proto}|${f.dstPort}`;
    if (key === p.portKey) return;
    if (this.memoUsage !== this.usage) {
      this.memo.clear();
      this.memoUsage = this.usage;
    }
    let m = this.memo.get(key);
    if (!m) {
      const u = this.usage.counts[usageKey(f)] ?? 0;
      m = { reg: svc ? registeredFor(svc, f.proto, f.dstPort) : undefined, surprise: -Math.log((1 + u) / (1 + this.usage.n)) };
      if (this.memo.size >= 65_536) this.memo.clear(); // bounded memo; recomputing is cheap
      this.memo.set(key, m);
    }
    p.portKey = key;
    p.portReg = m.reg;
    p.portUsage = m.surprise;
  }

  private updatePair(f: Flow): PairEvidence {
    const key = `${f.srcIp}|${f.dstIp}`;
    let p = this.pairs.get(key);
    if (!p || f.ts - p.last > DAY) {
      p = new PairEvidence(f.srcIp, f.dstIp, f.ts, f.proto, this.contexts.size ? this.contexts.get(key) : undefined);
      this.pairs.set(key, p);
      // A new pair is a new source for its destination: the only time the destination table is touched.
      let srcs = this.destSources.get(f.dstIp);
      if (!srcs) this.destSources.set(f.dstIp, (srcs = []));
      if (srcs.length < 16 && !srcs.includes(f.srcIp)) srcs.push(f.srcIp);
      p.sources = srcs;
    } else {
      const gap = f.ts - p.last;
      if (gap >= BURST_S) {
        (p.intervals ??= new FloatRing(this.ring)).push(gap);
        p.stale++;
      }
      const hour = Math.floor(f.ts / 3600);
      if (hour !== p.lastHour) p.hoursActive++;
      p.lastHour = hour;
      if (f.ts > p.last) p.last = f.ts;
      (p.sizes ??= new FloatRing(this.ring)).push(f.srcBytes + f.dstBytes);
    }
    const ok = established(f);
    p.flows++;
    if (ok) p.established++;
    else if (FAILED_STATES.has(f.connState)) p.failed++;
    p.bytesOut += Math.max(0, f.srcBytes);
    p.bytesIn += Math.max(0, f.dstBytes);
    if (p.ports.length < 4 && !p.ports.includes(f.dstPort)) p.ports.push(f.dstPort);
    if (f.service && f.service !== '-') p.service = f.service;
    p.proto = f.proto;

    // Protocol on a port not registered for it (IANA), or no protocol Zeek knows on a high port.
    this.classify(p, f);
    const reg = p.portReg;
    if (reg === false && ok) {
      p.mismatch = true;
      p.mismatchPort = f.dstPort;
      p.mismatchService = f.service;
    }
    // How many benign reference pairs carried this kind of traffic: failed attempts say nothing.
    if (ok && p.portUsage > p.usageSurprise) p.usageSurprise = p.portUsage;
    // Many destinations on the web ports are the norm; on any other odd port they are rotation.
    const web = f.dstPort === 80 || f.dstPort === 443;
    const odd = !web && (reg === false || (reg === undefined && f.dstPort >= 1024 && f.proto !== 'icmp'));
    if (odd) {
      if (p.groupPort !== f.dstPort || !p.group) {
        const gk = `${f.srcIp}|${f.proto}/${f.dstPort}`;
        let g = this.groups.get(gk);
        if (!g) this.groups.set(gk, (g = new Set()));
        if (g.size < this.maxGroupDests) g.add(f.dstIp);
        p.group = g;
        p.groupPort = f.dstPort;
      }
      if (p.group.size > p.rotationGroup) p.rotationGroup = p.group.size;
    }
    // Density of sessions that carried data (a scan's failed probes are the scan's evidence), on
    // every port but name resolution, where one lookup is one flow by design. Browsers open many
    // connections to one web server, so the benign tail has a real scale (the reference's densest
    // pair: 13.5); a remote-control session of 700 connections in 8 minutes sits far beyond it.
    // Records arrive in connection-end order: an earlier start adds its decayed weight.
    if (ok && !RESOLVER_PORTS.has(f.dstPort)) {
      const dt = f.ts - p.burstAt;
      if (p.burstCount === 0 || dt >= 0) {
        p.burstCount = p.burstCount * Math.exp(-Math.max(0, dt) / BURST_TAU_S) + 1;
        p.burstAt = f.ts;
      } else p.burstCount += Math.exp(dt / BURST_TAU_S);
    }
    // Long-lived and nearly silent: an interactive or keep-alive channel, not a download.
    const rate = (f.srcBytes + f.dstBytes) / Math.max(1, f.duration);
    if (f.duration >= 60 && rate < 200 && f.duration > p.longest) p.longest = f.duration;
    if (ok && this.dnsHosts.size && this.dnsHosts.get(f.srcIp) !== undefined && this.resolved.get(key) === undefined) p.noDnsFlows++;
    if (f.proto === 'tcp' && TOR_PORTS.has(f.dstPort)) p.tor = true;

    const r = p.raw;
    // Regularity needs sorted rings: refreshed when an eighth of the ring is new, so the cost is
    // O(k log k / (k/8)) per flow, not O(k log k); between refreshes the last value stands.
    const n = p.intervals?.size ?? 0;
    if (n >= 3 && p.stale * BEACON_REFRESH >= Math.min(n, this.ring)) {
      p.stale = 0;
      const iv = dispersion(p.intervals!.values());
      const sz = p.sizes && p.sizes.size >= 3 ? dispersion(p.sizes.values()) : undefined;
      const hoursSpanned = Math.floor(p.last / 3600) - Math.floor(p.first / 3600) + 1;
      r.beacon = beaconScore(regularity(iv), sz ? regularity(sz) : 0, n, p.hoursActive / hoursSpanned);
    }
    r.service_port = p.mismatch ? 1 : 0;
    r.usage = p.usageSurprise;
    if (p.burstCount > r.burst) r.burst = p.burstCount;
    r.long_lived = p.longest ? Math.log1p(p.longest) : 0;
    // Uploading more than downloading, in volume: exfiltration or a remote-control session.
    r.upload = Math.log1p(p.bytesOut) * (p.bytesOut / Math.max(1, p.bytesOut + p.bytesIn));
    r.rotation = p.rotationGroup >= 2 ? p.rotationGroup : 0;
    r.tor = p.tor ? 1 : 0;
    r.no_dns = Math.log1p(p.noDnsFlows);
    r.tls_cert = p.tlsBad ? 1 : 0;
    r.direct_ip = p.directIp ? 1 : 0;
    r.rarity = 1 / p.sources.length;
    // A client no other internal host resembles: rarity of its TLS fingerprint and User-Agent at this site.
    r.tls_client = p.clientHosts ? 1 / p.clientHosts.length : 0;
    r.user_agent = p.agentHosts ? 1 / p.agentHosts.length : 0;
    return p;
  }

  /** Interval median and MAD of a pair, for explanations. */
  static intervals(p: PairEvidence): { median: number; mad: number; n: number } {
    if (!p.intervals || p.intervals.size < 2) return { median: 0, mad: 0, n: p.intervals?.size ?? 0 };
    const d = dispersion(p.intervals.values());
    return { median: d.median, mad: d.mad, n: p.intervals.size };
  }

  stats(): { pairs: number; hosts: number; resolutions: number; groups: number } {
    return { pairs: this.pairs.size, hosts: this.hosts.size, resolutions: this.resolved.size, groups: this.groups.size };
  }
}
