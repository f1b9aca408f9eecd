import type { Alert, EcsEvent } from '@soc/schema';
import { intelEntriesOf, intelObservables, matchIntel, type IntelIndex, type SocIdentity } from '@soc/federation';
import type { Analyzer } from '@soc/svc-detector';

/** What an imported-intelligence alert teaches IntelIndex (CIDRs, domains, URLs, file hashes). */
export function learnIntel(intel: IntelIndex, alert: Alert): void {
  if (alert.detector !== 'stix-import') return;
  for (const e of intelEntriesOf(alert, intelObservables(alert))) intel.add(e);
}

/**
 * "Seen by partner first" beyond addresses: a local flow into a reported CIDR, a DNS query, TLS
 * SNI or HTTP host for a reported domain, a request for a reported URL, a transferred file with a
 * reported hash. Judged at the event's own time, like the address analyzer, so redelivery agrees.
 */
export function partnerIntelAnalyzer(o: { intel: IntelIndex; self: SocIdentity }): Analyzer {
  return {
    name: 'partner-intel',
    analyze: async (events: EcsEvent[]) => (o.intel.size === 0 ? [] : events.flatMap((e) => matchIntel(e, o.intel, { self: o.self }))),
  };
}
