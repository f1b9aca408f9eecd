import type { Alert, Threat } from '@soc/schema';
import { BURST_TAU_S, EvidenceTracker, registeredFor, type EvidenceCalibration, type EvidenceName, type EvidenceTerm, type PairEvidence } from '@soc/signals';

/** [technique id, name, sub-technique id?, sub-technique name?]. */
type Technique = [string, string, string?, string?];

/** The ATT&CK technique each piece of evidence points to (https://attack.mitre.org/techniques/). */
const TECHNIQUE: Record<EvidenceName, Technique> = {
  service_port: ['T1571', 'Non-Standard Port'],
  usage: ['T1071', 'Application Layer Protocol'],
  beacon: ['T1071', 'Application Layer Protocol'],
  burst: ['T1071', 'Application Layer Protocol'],
  long_lived: ['T1071', 'Application Layer Protocol'],
  upload: ['T1041', 'Exfiltration Over C2 Channel'],
  rotation: ['T1008', 'Fallback Channels'],
  tor: ['T1090', 'Proxy', 'T1090.003', 'Multi-hop Proxy'],
  no_dns: ['T1071', 'Application Layer Protocol'],
  tls_cert: ['T1573', 'Encrypted Channel', 'T1573.002', 'Asymmetric Cryptography'],
  direct_ip: ['T1071', 'Application Layer Protocol', 'T1071.001', 'Web Protocols'],
  rarity: ['T1071', 'Application Layer Protocol'],
  tls_client: ['T1573', 'Encrypted Channel'],
  user_agent: ['T1071', 'Application Layer Protocol', 'T1071.001', 'Web Protocols'],
  anomaly: ['T1071', 'Application Layer Protocol'],
};

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

/** ECS threat.* from techniques and tactics. */
export function threatOf(techniques: Technique[], tactics: [string, string][]): Threat {
  const subs = techniques.filter((t) => t[2]);
  return {
    framework: 'MITRE ATT&CK',
    tactic: { id: tactics.map((t) => t[0]), name: tactics.map((t) => t[1]) },
    technique: {
      id: uniq(techniques.map((t) => t[0])),
      name: uniq(techniques.map((t) => t[1])),
      ...(subs.length ? { subtechnique: { id: uniq(subs.map((t) => t[2]!)), name: uniq(subs.map((t) => t[3]!)) } } : {}),
    },
  };
}

export function pairThreat(active: EvidenceTerm[]): Threat {
  const t = active.map((x) => TECHNIQUE[x.scorer]);
  return threatOf(t.length ? t : [TECHNIQUE.usage], [['TA0011', 'Command and Control']]);
}

const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());
const span = (s: number) => (s >= 7200 ? `${num(s / 3600)} h` : s >= 120 ? `${num(s / 60)} min` : `${num(s)} s`);
const pv = (p: number) => `p=${p.toExponential(1)}`;

/** One plain-language clause per piece of evidence, with its numbers. */
function clause(t: EvidenceTerm, p: PairEvidence, c: EvidenceCalibration): string {
  const svc = p.service === '-' ? 'an unidentified protocol' : p.service.toUpperCase();
  switch (t.scorer) {
    case 'service_port': {
      const m = p.mismatchService.toUpperCase();
      return `${m} on port ${p.mismatchPort}, which IANA does not register for ${m}`;
    }
    case 'usage':
      return `${svc} over ${p.proto}/${p.ports.join(',')} is rare on benign workstations`;
    case 'beacon': {
      const iv = EvidenceTracker.intervals(p);
      return `repeats every ${span(iv.median)} ±${num((100 * iv.mad) / Math.max(iv.median, 1e-9))}% (median and MAD of the last ${iv.n} intervals; active in ${p.hoursActive} clock hours)`;
    }
    case 'burst':
      return `about ${num(t.raw)} connections within ${span(BURST_TAU_S)} (decayed count; the densest benign reference pair reached ${num(c.tails.burst?.values.at(-1) ?? 0)})`;
    case 'long_lived':
      return `a session held open ${span(p.longest)} with under 200 B/s`;
    case 'upload':
      return `${Math.round(p.bytesOut)} bytes sent, ${Math.round(p.bytesIn)} received`;
    case 'rotation':
      return `${p.rotationGroup} different destinations from this host share port ${p.proto}/${p.ports[0]} (rotating addresses)`;
    case 'tor':
      return `port ${p.ports.join(',')} is a Tor relay default`;
    case 'no_dns':
      return `no DNS lookup for this address before ${p.noDnsFlows} connection(s)`;
    case 'tls_cert':
      return `TLS with ${p.tlsBad}`;
    case 'direct_ip':
      return 'HTTP addressed to the bare IP (Host header is an address)';
    case 'rarity':
      return 'no other internal host talks to it';
    case 'tls_client':
      return `its TLS client fingerprint (JA4/JA3) is used by ${p.clientHosts?.length ?? 0} internal host(s) only`;
    case 'user_agent':
      return `HTTP User-Agent "${p.agent.slice(0, 120)}" is used by ${p.agentHosts?.length ?? 0} internal host(s) only`;
    case 'anomaly':
      return `unusual for this site's flow model (reconstruction error ${num(t.raw)})`;
  }
}

const TITLE: Record<EvidenceName, string> = {
  service_port: 'protocol on a non-standard port',
  usage: 'rare protocol and port',
  beacon: 'beaconing',
  burst: 'dense burst of connections',
  long_lived: 'long-lived quiet session',
  upload: 'upload-heavy channel',
  rotation: 'rotating destinations on one port',
  tor: 'Tor-like relay port',
  no_dns: 'connection without DNS lookup',
  tls_cert: 'suspicious TLS certificate',
  direct_ip: 'HTTP to a bare IP',
  rarity: 'rare destination',
  tls_client: 'rare TLS client',
  user_agent: 'rare User-Agent',
  anomaly: 'site model anomaly',
};

/** The alert text for a pair: title, one summary sentence with numbers, and the contributing evidence. */
export function explainPair(p: PairEvidence, active: EvidenceTerm[], statistic: number, c: EvidenceCalibration): { title: string; summary: string; explanation: Alert['explanation'] } {
  const port = p.ports[0] ?? 0;
  const where = `${p.host} → ${p.dest}:${p.ports.join(',')}/${p.proto}${p.service !== '-' ? ` (${p.service})` : ''}`;
  const clauses = active.map((t) => `${clause(t, p, c)} (${pv(t.p)})`);
  const registered = p.service !== '-' ? registeredFor(p.service, p.proto, port) : undefined;
  const summary =
    `${where}: ${p.flows} connection(s) over ${span(Math.max(0, p.last - p.first))} since ${new Date(p.first * 1000).toISOString()}; ` +
    `${clauses.join('; ')}. Evidence ${num(statistic)} > threshold ${num(c.threshold)} (${c.kind === 'site' ? 'site baseline' : 'benign reference'})` +
    (registered === true ? `; port ${port} is registered for ${p.service}` : '');
  const lead = active[0]?.scorer ?? 'usage';
  return {
    title: `Suspected command and control: ${TITLE[lead]}`,
    summary: summary.slice(0, 8192),
    explanation: {
      summary: summary.slice(0, 8192),
      features: active.map((t) => ({ name: t.scorer, value: t.raw, contribution: (-2 * Math.log(t.p)) / Math.max(statistic, 1e-9) })),
      values: {
        statistic, threshold: c.threshold, connections: p.flows, established: p.established, failed: p.failed,
        bytes_out: p.bytesOut, bytes_in: p.bytesIn, hours_active: p.hoursActive, first_seen: new Date(p.first * 1000).toISOString(),
      },
    },
  };
}
