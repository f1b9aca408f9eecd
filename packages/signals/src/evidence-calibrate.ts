import { z } from 'zod';
import type { Flow } from '@soc/features';
import { Tail, combine, fitTail, kthCut, tailP } from './calibrate.ts';
import type { Context } from './context.ts';
import { EVIDENCE, EvidenceTracker, FAILED_STATES, established, usageKey, type EvidenceName, type EvidenceOptions, type UsageTable } from './evidence.ts';

/** Scorers whose tails come from the site's own baseline (fitted mode); all others are priors. */
export const SITE_EVIDENCE: readonly EvidenceName[] = ['rarity', 'tls_client', 'user_agent', 'anomaly'];
/**
 * Site scorers that exist only when the sensor writes protocol logs: a baseline without them gets
 * no tail (the scorer stays off) rather than an all-zero tail that would make every value surprising.
 */
const CONTEXT_EVIDENCE: readonly EvidenceName[] = ['tls_client', 'user_agent'];

/**
 * Priors for evidence that conn records cannot show, so the benign reference (conn logs) cannot
 * measure them: an assumed share of benign pairs with the flag, written as a tail of 100 pairs.
 * Sources: no DNS before a connection — hard-coded and cached addresses exist on benign hosts
 * (DoH clients, CDNs), assumed 1 in 10 pairs once, rarely twice; invalid or self-signed certificates and TLS
 * without SNI on the Internet — a few per cent of benign pairs (certificate-validation surveys of
 * the public web put invalid chains at a few per cent); HTTP with an IP literal as Host — likewise rare.
 */
export const ASSUMED_TAILS: Partial<Record<EvidenceName, Tail>> = {
  no_dns: { n: 100, values: [...Array<number>(90).fill(0), ...Array<number>(10).fill(Math.log1p(1))] },
  tls_cert: { n: 100, values: [...Array<number>(97).fill(0), 1, 1, 1] },
  direct_ip: { n: 100, values: [...Array<number>(97).fill(0), 1, 1, 1] },
};

export const EvidenceBudget = z.object({
  /** Outbound episode alerts per day per 1 000 internal hosts, and a floor for small sites. */
  perThousandHostsPerDay: z.number().positive(),
  minPerDay: z.number().positive(),
});
export type EvidenceBudget = z.infer<typeof EvidenceBudget>;
export const DEFAULT_EVIDENCE_BUDGET: EvidenceBudget = { perThousandHostsPerDay: 50, minPerDay: 10 };

export const EvidenceCalibration = z.object({
  format: z.literal('soc-evidence/1'),
  /** 'reference': shipped, fitted on real benign traffic; 'site': a site fit on its own baseline. */
  kind: z.enum(['reference', 'site']),
  tails: z.record(z.string(), Tail),
  usage: z.object({ n: z.number().int().nonnegative(), counts: z.record(z.string(), z.number().int().nonnegative()) }),
  tau: z.number().gt(0).lte(1),
  /** An outbound pair alerts when its truncated-Fisher statistic is strictly above this. */
  threshold: z.number().nonnegative(),
  /** A host's failed (destination, port) attempts in one hour above this is a scan (T1046). */
  scanFanout: z.number().int().positive(),
  /** Failed ports on one target from one source in a day above this is a vertical scan (T1046). */
  verticalPorts: z.number().int().positive(),
  /** Distinct Internet sources with failed attempts on one host in a day: background scanning. */
  inboundSources: z.number().int().positive(),
  /** NXDOMAIN answers to one host in 10 minutes: a DGA burst (T1568.002). */
  nxdomainPer10Min: z.number().int().positive(),
  budget: EvidenceBudget,
  baseline: z.object({
    sources: z.array(z.string()),
    flows: z.number().int().nonnegative(),
    pairs: z.number().int().nonnegative(),
    hosts: z.number().int().nonnegative(),
    days: z.number().nonnegative(),
    alertedPairs: z.number().int().nonnegative(),
    maxHourlyFanout: z.number().int().nonnegative(),
    maxVerticalPorts: z.number().int().nonnegative(),
  }),
});
export type EvidenceCalibration = z.infer<typeof EvidenceCalibration>;

export interface EvidenceTerm {
  scorer: EvidenceName;
  raw: number;
  p: number;
}

/** p-value of every scorer (1 where the calibration has no tail) and their truncated-Fisher combination. */
export function scoreEvidence(c: EvidenceCalibration, raw: Record<EvidenceName, number>): { statistic: number; terms: EvidenceTerm[] } {
  const terms = EVIDENCE.map((s): EvidenceTerm => {
    const t = c.tails[s];
    return { scorer: s, raw: raw[s], p: t && t.n > 0 ? tailP(t, raw[s]) : 1 };
  });
  return { statistic: combine(terms.map((t) => t.p), c.tau), terms };
}

/**
 * The truncated-Fisher statistic alone, as scoreEvidence computes it, without building the terms:
 * the per-flow path. A raw value at or below a tail's smallest point has p = 1 and is skipped.
 */
export function evidenceStatistic(c: EvidenceCalibration, raw: Record<EvidenceName, number>): number {
  let s = 0;
  for (const { name, tail, min } of scorersOf(c)) {
    const x = raw[name];
    if (!(x > min)) continue;
    const p = tailP(tail, x);
    if (p <= c.tau) s += -2 * Math.log(p);
  }
  return s;
}

/** The scorers a calibration has a tail for, with each tail's smallest point: computed once per calibration (calibrations are never changed in place once used). */
const compiled = new WeakMap<EvidenceCalibration, { name: EvidenceName; tail: Tail; min: number }[]>();
function scorersOf(c: EvidenceCalibration): { name: EvidenceName; tail: Tail; min: number }[] {
  let list = compiled.get(c);
  if (!list) {
    list = EVIDENCE.flatMap((name) => {
      const tail = c.tails[name];
      return tail && tail.n > 0 ? [{ name, tail, min: tail.values[0] ?? Infinity }] : [];
    });
    compiled.set(c, list);
  }
  return list;
}

/** The usage table of a set of flow streams: per outbound pair, each usage class counted once. */
export function fitUsage(streams: readonly Flow[][], o: EvidenceOptions = {}): UsageTable {
  const t = new EvidenceTracker(o);
  const seen = new Set<string>();
  const pairs = new Set<string>();
  const counts: Record<string, number> = {};
  streams.forEach((flows, i) => {
    for (const f of flows) {
      if (t.direction(f) !== 'outbound' || !established(f)) continue;
      const pair = `${i}|${f.srcIp}|${f.dstIp}`;
      pairs.add(pair);
      const k = `${pair}|${usageKey(f)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      counts[usageKey(f)] = (counts[usageKey(f)] ?? 0) + 1;
    }
  });
  return { n: pairs.size, counts };
}

export interface Replay {
  /** Per outbound pair (stream-qualified), the maximum of every raw scorer. */
  pairMax: Map<string, Record<EvidenceName, number>>;
  /** Per outbound flow, its pair key and raw scores (a copy), in stream order. */
  rows: { pair: string; raw: Record<EvidenceName, number> }[];
  hosts: Set<string>;
  days: number;
  flows: number;
  maxHourlyFanout: number;
  maxVerticalPorts: number;
}

/**
 * Replays flow streams (each in time order) through the tracker, the detector's own code path.
 * `anomaly(i, j)` supplies the site autoencoder's score of flow j of stream i when there is one.
 */
export function replayEvidence(streams: readonly Flow[][], o: EvidenceOptions, anomaly?: (stream: number, flow: number) => number, contexts: readonly (readonly Context[])[] = []): Replay {
  const pairMax = new Map<string, Record<EvidenceName, number>>();
  const rows: Replay['rows'] = [];
  const hosts = new Set<string>();
  let days = 0;
  let flows = 0;
  let maxHourlyFanout = 0;
  let maxVerticalPorts = 0;
  streams.forEach((stream, i) => {
    const t = new EvidenceTracker(o);
    const streamHosts = new Set<string>();
    let min = Infinity, max = -Infinity;
    // Protocol records (time order) are observed once they exist: before the flow whose end follows them.
    const ctx = contexts[i] ?? [];
    let k = 0;
    stream.forEach((f, j) => {
      while (k < ctx.length && ctx[k]!.ts <= f.ts + f.duration) t.observeContext(ctx[k++]!);
      flows++;
      if (f.ts < min) min = f.ts;
      if (f.ts > max) max = f.ts;
      const x = t.observe(f);
      if (x.kind === 'local' || x.kind === 'outbound') {
        const h = t.hostActivity(f.srcIp);
        if (h && FAILED_STATES.has(f.connState) && h.failed.size > maxHourlyFanout) maxHourlyFanout = h.failed.size;
        if (h && h.verticalMax > maxVerticalPorts) maxVerticalPorts = h.verticalMax;
      }
      if (x.kind !== 'outbound') return;
      streamHosts.add(x.pair.host);
      const raw = { ...x.pair.raw, anomaly: anomaly ? anomaly(i, j) : 0 };
      const key = `${i}|${x.pair.host}|${x.pair.dest}`;
      rows.push({ pair: key, raw });
      const m = pairMax.get(key);
      if (!m) pairMax.set(key, { ...raw });
      else for (const s of EVIDENCE) if (raw[s] > m[s]) m[s] = raw[s];
    });
    for (const h of streamHosts) hosts.add(`${i}|${h}`);
    if (stream.length) days += Math.max(1 / 24, (max - min) / 86_400);
  });
  return { pairMax, rows, hosts, days, flows, maxHourlyFanout, maxVerticalPorts };
}

/** Tails of the per-pair maxima for the given scorers. */
function tailsOf(r: Replay, scorers: readonly EvidenceName[]): Record<string, Tail> {
  const out: Record<string, Tail> = {};
  for (const s of scorers) {
    const sample = Float64Array.from(r.pairMax.values(), (m) => m[s]);
    if (CONTEXT_EVIDENCE.includes(s) && !sample.some((v) => v > 0)) continue;
    out[s] = fitTail(sample);
  }
  return out;
}

/** Per pair, the highest statistic any of its flows reached. */
function pairStatistics(c: EvidenceCalibration, r: Replay): Float64Array {
  const best = new Map<string, number>();
  for (const row of r.rows) {
    const s = scoreEvidence(c, row.raw).statistic;
    if (s > (best.get(row.pair) ?? -1)) best.set(row.pair, s);
  }
  return Float64Array.from(best.values());
}

export interface ReferenceOptions extends EvidenceOptions {
  sources: string[];
  tau?: number;
  /** Outbound alerts per monitored host per day the reference may raise (default 1). */
  alertsPerHostDay?: number;
  budget?: EvidenceBudget;
}

/**
 * The shipped reference: every prior's tail on real benign traffic (workstation days), the usage
 * table, and the threshold at which the reference raises at most `alertsPerHostDay` outbound
 * alerts per host and day. Site scorers (rarity, the site autoencoder) get no tail here: a new
 * install has no site to be rare in.
 */
export function fitReference(streams: readonly Flow[][], o: ReferenceOptions): EvidenceCalibration {
  const usage = fitUsage(streams, o);
  const r = replayEvidence(streams, { ...o, usage });
  const priors = EVIDENCE.filter((s) => !SITE_EVIDENCE.includes(s));
  const tails = { ...tailsOf(r, priors.filter((s) => !ASSUMED_TAILS[s])), ...ASSUMED_TAILS } as Record<string, Tail>;
  const c: EvidenceCalibration = {
    format: 'soc-evidence/1', kind: 'reference', tails, usage, tau: o.tau ?? 0.05, threshold: 0,
    scanFanout: Math.max(32, 2 * r.maxHourlyFanout), verticalPorts: Math.max(10, 2 * r.maxVerticalPorts), inboundSources: 20, nxdomainPer10Min: 20,
    budget: o.budget ?? DEFAULT_EVIDENCE_BUDGET,
    baseline: { sources: o.sources, flows: r.flows, pairs: r.pairMax.size, hosts: r.hosts.size, days: r.days, alertedPairs: 0, maxHourlyFanout: r.maxHourlyFanout, maxVerticalPorts: r.maxVerticalPorts },
  };
  const stats = pairStatistics(c, r);
  const hostDays = Math.max(1, r.hosts.size) * (r.days / Math.max(1, streams.length));
  c.threshold = kthCut(stats, Math.floor((o.alertsPerHostDay ?? 1) * hostDays));
  c.baseline.alertedPairs = stats.filter((s) => s > c.threshold).length;
  return c;
}

export interface SiteEvidenceOptions extends EvidenceOptions {
  sources: string[];
  budget?: EvidenceBudget;
  /** The baseline's dns/ssl/http records in time order, when the sensor writes them (JA3/JA4, User-Agent rarity). */
  contexts?: readonly Context[];
}

/**
 * A site calibration: the reference's priors unchanged (contamination in the baseline cannot
 * erase them), the site's own tails for rarity and the site autoencoder, and the threshold that
 * keeps the baseline within the alert budget — alerts per day per 1 000 hosts with a floor, not a
 * share of destinations, so an infection cannot hide by being a large part of the baseline.
 */
export function fitSiteEvidence(flows: Flow[], reference: EvidenceCalibration, o: SiteEvidenceOptions, anomaly?: (flow: number) => number): EvidenceCalibration {
  const r = replayEvidence([flows], { ...o, usage: reference.usage }, anomaly ? (_, j) => anomaly(j) : undefined, o.contexts ? [o.contexts] : []);
  const budget = o.budget ?? reference.budget;
  const tails = { ...reference.tails, ...tailsOf(r, anomaly ? SITE_EVIDENCE : SITE_EVIDENCE.filter((s) => s !== 'anomaly')) };
  const c: EvidenceCalibration = {
    ...reference, kind: 'site', tails, budget, threshold: 0,
    baseline: { sources: o.sources, flows: r.flows, pairs: r.pairMax.size, hosts: r.hosts.size, days: r.days, alertedPairs: 0, maxHourlyFanout: r.maxHourlyFanout, maxVerticalPorts: r.maxVerticalPorts },
  };
  const stats = pairStatistics(c, r);
  const perDay = Math.max(budget.minPerDay, (budget.perThousandHostsPerDay * r.hosts.size) / 1000);
  const budgeted = kthCut(stats, Math.max(1, Math.floor(perDay * r.days)));
  // Less than a day of baseline cannot estimate a per-day quantile: it may lower the reference
  // threshold (a quiet site), never raise it.
  c.threshold = r.days >= 1 ? budgeted : Math.min(budgeted, reference.threshold);
  c.baseline.alertedPairs = stats.filter((s) => s > c.threshold).length;
  return c;
}
