import type { Flow } from '@soc/features';
import { FloatRing, LruMap } from './lru.ts';
import { internalClassifier } from './net.ts';
import { dispersion, regularity } from './stats.ts';

/**
 * The per-flow signals, each a raw score where larger is more suspicious. None is a verdict:
 * calibration (calibrate.ts) turns each into a tail probability on the site's own baseline.
 */
export const SIGNALS = ['beacon', 'rarity', 'port', 'duration', 'scan', 'volume'] as const;
export type SignalName = (typeof SIGNALS)[number];
export type SignalValues = Record<SignalName, number>;

/** The numbers behind the raw scores, for the alert's explanation. */
export interface SignalDetails {
  external: boolean;
  /** Connections so far on (source, destination, port). */
  connections: number;
  /** Median and MAD of the intervals between connections, seconds (0 when fewer than 2). */
  intervalMedian: number;
  intervalMad: number;
  intervalRegularity: number;
  sizeMedian: number;
  sizeRegularity: number;
  /** Distinct clock hours with a connection, and hours from first to last. */
  hoursActive: number;
  hoursSpanned: number;
  /** Distinct internal sources seen talking to the destination (saturates at the cap). */
  internalSources: number;
  /** When the destination was first seen, epoch seconds. */
  firstSeen: number;
  /** Pairs seen on this transport/port at the site so far. */
  portPairs: number;
  wellKnownPort: boolean;
  /** Distinct (destination, port) with failed connections from the source this hour. */
  failedFanout: number;
  bytesOut: number;
  bytesIn: number;
}

export interface Reading {
  raw: SignalValues;
  details: SignalDetails;
}

export interface TrackerOptions {
  /** Extra CIDRs to treat as internal (the site's own public ranges). */
  internalCidrs?: readonly string[];
  /** (source, destination, port) triples tracked at once; least recently seen forgotten (default 100 000). */
  maxPairs?: number;
  /** Destinations tracked for rarity (default 100 000). */
  maxDestinations?: number;
  /** Sources tracked for scan fan-out (default 20 000). */
  maxSources?: number;
  /** Intervals and sizes kept per triple (default 32). */
  ring?: number;
  /** Distinct internal sources remembered per destination; "rare" only needs small counts (default 16). */
  maxSourcesPerDestination?: number;
  /** Distinct failed (destination, port) remembered per source and hour (default 1024). */
  maxFanout?: number;
}

interface PairState {
  n: number;
  first: number;
  last: number;
  lastHour: number;
  hours: number;
  bytesOut: number;
  bytesIn: number;
  /** Allocated on the second connection: most triples (scans, one-off lookups) never need them. */
  intervals?: FloatRing;
  sizes?: FloatRing;
}

interface DestState {
  firstSeen: number;
  sources: Set<string>;
}

interface SourceState {
  hour: number;
  failed: Set<string>;
}

/**
 * Ports whose service is a standard, expected one at any site (IANA well-known assignments for
 * name resolution, directory, file sharing, time, web, mail). A port outside this list is not
 * suspicious by itself: calibration asks how rare it is among the site's own pairs.
 */
export const WELL_KNOWN_PORTS: ReadonlySet<number> = new Set([
  20, 21, 22, 25, 53, 67, 68, 80, 88, 110, 123, 135, 137, 138, 139, 143, 161, 389, 443, 445, 464, 465, 514, 587, 636,
  853, 993, 995, 1900, 3268, 3269, 3389, 5353, 5355, 8080,
]);

/** Zeek states of a connection attempt that was refused or never answered. */
const FAILED = new Set(['S0', 'REJ', 'RSTOS0', 'RSTRH', 'SH', 'SHR']);

/** Connections closer than this are one burst (a browser's parallel sockets), not an interval. */
const BURST_S = 1;

/**
 * Online site signals. `observe` is O(1) amortised per flow (a ring of k ≤ 64 values is re-sorted,
 * a constant), and memory is bounded by the caps: every table is an LRU map, every set is capped.
 * Flows must arrive roughly in time order (the detector consumes them that way).
 */
export class SignalTracker {
  private readonly isInternal: (ip: string) => boolean;
  private readonly pairs: LruMap<string, PairState>;
  private readonly dests: LruMap<string, DestState>;
  private readonly sources: LruMap<string, SourceState>;
  private readonly portPairs = new Map<string, number>();
  private readonly ring: number;
  private readonly maxSrcPerDst: number;
  private readonly maxFanout: number;

  constructor(o: TrackerOptions = {}) {
    this.isInternal = internalClassifier(o.internalCidrs);
    this.pairs = new LruMap(o.maxPairs ?? 100_000);
    this.dests = new LruMap(o.maxDestinations ?? 100_000);
    this.sources = new LruMap(o.maxSources ?? 20_000);
    this.ring = o.ring ?? 32;
    this.maxSrcPerDst = o.maxSourcesPerDestination ?? 16;
    this.maxFanout = o.maxFanout ?? 1024;
  }

  get stats(): { pairs: number; destinations: number; sources: number; pairEvictions: number } {
    return { pairs: this.pairs.size, destinations: this.dests.size, sources: this.sources.size, pairEvictions: this.pairs.evictions };
  }

  internal(ip: string): boolean {
    return this.isInternal(ip);
  }

  observe(f: Flow): Reading {
    const external = !this.isInternal(f.dstIp);
    const srcInternal = this.isInternal(f.srcIp);
    const pair = this.updatePair(f);
    const dest = this.updateDest(f, srcInternal);
    const portKey = `${f.proto}/${f.dstPort}`;
    const portPairs = this.portPairs.get(portKey) ?? 0;
    const wellKnownPort = WELL_KNOWN_PORTS.has(f.dstPort);
    const failedFanout = this.updateFanout(f);

    const iv = pair.intervals && pair.intervals.size >= 2 ? dispersion(pair.intervals.values()) : undefined;
    const sz = pair.sizes && pair.sizes.size >= 2 ? dispersion(pair.sizes.values()) : undefined;
    const intervalRegularity = iv ? regularity(iv) : 0;
    const sizeRegularity = sz ? regularity(sz) : 0;
    const hoursSpanned = Math.floor(pair.last / 3600) - Math.floor(pair.first / 3600) + 1;
    const nIntervals = pair.intervals?.size ?? 0;

    const details: SignalDetails = {
      external, connections: pair.n,
      intervalMedian: iv?.median ?? 0, intervalMad: iv?.mad ?? 0, intervalRegularity,
      sizeMedian: sz?.median ?? 0, sizeRegularity,
      hoursActive: pair.hours, hoursSpanned,
      internalSources: dest.sources.size, firstSeen: dest.firstSeen,
      portPairs, wellKnownPort, failedFanout, bytesOut: pair.bytesOut, bytesIn: pair.bytesIn,
    };
    const raw: SignalValues = {
      beacon: external ? beaconScore(intervalRegularity, sizeRegularity, nIntervals, pair.hours / hoursSpanned) : 0,
      // Rarity needs an internal population to be rare in: an internet peer few of our hosts use.
      rarity: external && srcInternal ? 1 / Math.max(1, dest.sources.size) : 0,
      port: wellKnownPort ? 0 : 1 / Math.max(1, portPairs),
      duration: Math.log1p(Math.max(0, f.duration)),
      scan: FAILED.has(f.connState) ? failedFanout : 0,
      volume: external ? Math.log1p(pair.bytesOut) * (pair.bytesOut / Math.max(1, pair.bytesOut + pair.bytesIn)) : 0,
    };
    return { raw, details };
  }

  private updatePair(f: Flow): PairState {
    const key = `${f.srcIp}|${f.dstIp}|${f.dstPort}`;
    const hour = Math.floor(f.ts / 3600);
    let p = this.pairs.get(key);
    if (!p) {
      p = { n: 0, first: f.ts, last: f.ts, lastHour: hour, hours: 1, bytesOut: 0, bytesIn: 0 };
      this.pairs.set(key, p);
      const portKey = `${f.proto}/${f.dstPort}`;
      this.portPairs.set(portKey, (this.portPairs.get(portKey) ?? 0) + 1);
    } else {
      const gap = f.ts - p.last;
      if (gap >= BURST_S) {
        p.intervals ??= new FloatRing(this.ring);
        p.intervals.push(gap);
      }
      if (hour !== p.lastHour) p.hours++;
      p.lastHour = hour;
      p.last = Math.max(p.last, f.ts);
    }
    p.n++;
    p.bytesOut += Math.max(0, f.srcBytes);
    p.bytesIn += Math.max(0, f.dstBytes);
    if (p.n >= 2 || p.sizes) {
      p.sizes ??= new FloatRing(this.ring);
      p.sizes.push(f.srcBytes + f.dstBytes);
    }
    return p;
  }

  private updateDest(f: Flow, srcInternal: boolean): DestState {
    let d = this.dests.get(f.dstIp);
    if (!d) this.dests.set(f.dstIp, (d = { firstSeen: f.ts, sources: new Set() }));
    if (srcInternal && d.sources.size < this.maxSrcPerDst) d.sources.add(f.srcIp);
    return d;
  }

  private updateFanout(f: Flow): number {
    const hour = Math.floor(f.ts / 3600);
    let s = this.sources.get(f.srcIp);
    if (!s || s.hour !== hour) this.sources.set(f.srcIp, (s = { hour, failed: new Set() }));
    if (FAILED.has(f.connState) && s.failed.size < this.maxFanout) s.failed.add(`${f.dstIp}|${f.dstPort}`);
    return s.failed.size;
  }
}

/**
 * RITA-style beacon score in [0, 1]: regularity of intervals and sizes, weighted by the evidence
 * behind it (1 − 1/√intervals: three intervals prove little, sixty a lot) and by persistence (the
 * share of the hours it spans in which the triple was active). Fewer than 3 intervals: 0.
 */
export function beaconScore(intervalRegularity: number, sizeRegularity: number, intervals: number, coverage: number): number {
  if (intervals < 3) return 0;
  const reg = (2 * intervalRegularity + sizeRegularity) / 3;
  return reg * (1 - 1 / Math.sqrt(intervals)) * Math.min(1, coverage);
}
