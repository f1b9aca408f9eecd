import type { Bus } from '@soc/bus';
import { sleep } from '@soc/errors';
import { Alert, TOPICS, decodeJson, type EcsEvent } from '@soc/schema';
import { correlate, intelObservables, reportOf, IndicatorIndex, type IndicatorEntry, type IntelIndex, type SocIdentity } from '@soc/federation';
import type { CidrSet } from '@soc/netaddr';
import type { Analyzer } from '@soc/svc-detector';
import type { Logger } from '@soc/telemetry';
import { learnIntel } from './intel.ts';

/**
 * The partner indicators an alert carries: the attacker address of an accepted partner alert
 * (unless it is one of ours or a pseudonym), or every address of a STIX-imported indicator.
 */
export function indicatorsOf(alert: Alert, internal: CidrSet): IndicatorEntry[] {
  const entry = (ip: string): IndicatorEntry => ({ ip, ...reportOf(alert) });
  if (alert.detector === 'stix-import') return intelObservables(alert).flatMap((o) => (o.kind === 'ip' ? [entry(o.value)] : []));
  if (!alert.federation || !alert.source?.ip || internal.contains(alert.source.ip)) return [];
  return [entry(alert.source.ip)];
}

/** Adds what an alert teaches to the indexes; both are idempotent per alert id. */
export function learn(index: IndicatorIndex, alert: Alert, internal: CidrSet, intel?: IntelIndex): void {
  for (const e of indicatorsOf(alert, internal)) index.add(e);
  if (intel) learnIntel(intel, alert);
}

/**
 * "Seen by partner first": a local event whose source or destination address a partner reported
 * earlier becomes a local alert linking the partner's. The index lookup uses the event's own time
 * as "now", so a redelivered batch is judged as it was the first time.
 */
export function partnerIndicatorAnalyzer(o: { index: IndicatorIndex; self: SocIdentity }): Analyzer {
  return {
    name: 'partner-indicators',
    analyze: async (events: EcsEvent[]) => events.flatMap((e) => (e.source?.ip || e.destination?.ip ? correlate(e, o.index, { self: o.self, nowMs: Date.parse(e['@timestamp']) }) : [])),
  };
}

export interface IndicatorFeedOptions {
  bus: Bus;
  index: IndicatorIndex;
  /** CIDR, domain, URL and hash intelligence from STIX imports. */
  intel?: IntelIndex;
  internal: CidrSet;
  partitions: number;
  logger: Logger;
  pollMs?: number;
}

/**
 * Keeps a detector's in-memory index filled from the local alert topic, where accepted partner
 * alerts and STIX imports land. It reads without a consumer group, from the oldest retained
 * record, because the index lives in memory: every process (and every restart) must see the whole
 * retained history, which a shared group's committed offsets would hide. Best-effort, like the
 * index itself: a record removed by retention before it was read is a missed early warning.
 */
export function startIndicatorFeed(o: IndicatorFeedOptions): { stop(): Promise<void> } {
  const positions = Array.from({ length: o.partitions }, () => 0);
  const abort = new AbortController();
  const pass = async (): Promise<number> => {
    let read = 0;
    for (let p = 0; p < positions.length; p++) {
      const records = await o.bus.read(TOPICS.alerts, { partition: p, fromOffset: positions[p]!, limit: 1000 });
      for (const r of records) {
        // Cheap pre-filter: most alerts are local detections that teach nothing.
        if (!r.value.includes('"federation"') && !r.value.includes('"stix-import"')) continue;
        const a = decodeJson(Alert, r.value, 'alert');
        if (a.ok) learn(o.index, a.value, o.internal, o.intel);
      }
      const last = records.at(-1);
      if (last) positions[p] = last.offset + 1;
      read += records.length;
    }
    return read;
  };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      let read = 0;
      try {
        read = await pass();
      } catch (err) {
        o.logger.warn({ err }, 'indicator feed read failed; retrying');
      }
      if (read === 0) await sleep(o.pollMs ?? 500, abort.signal).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
