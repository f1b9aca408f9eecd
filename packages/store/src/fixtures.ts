import { rng } from '@soc/prng';
import { SEVERITIES, TRIAGE_STATUSES, alertId, type Alert } from '@soc/schema';

/**
 * Deterministic alert fixtures for the conformance suite and the benchmark: the same seed always
 * yields the same alerts, so a failing case can be replayed.
 */

const WORDS = ['port', 'scan', 'scanning', 'brute', 'force', 'ssh', 'login', 'beacon', 'exfiltration', 'dns', 'tunnel', 'anomaly', 'Café', 'NAÏVE', 'lateral', 'movement'];
const DETECTORS = ['rules', 'anomaly', 'sigma', 'suricata'];
const HOSTS = ['web-01', 'web-02', 'db-01', 'mail.example.org'];
const IPS = ['10.0.0.1', '10.0.0.2', '192.168.1.10', '2001:db8::1', '172.16.5.4'];
const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const;
const ORIGINS = ['soc-ee', 'soc-lv', 'soc-fi'];
/** Few distinct scores so that sorting by score has many ties, broken by id. */
const SCORES = [0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/** Start of the fixture window; alerts spread over three days after it. */
export const FIXTURE_START_MS = Date.parse('2024-03-01T00:00:00Z');

export function buildAlerts(n: number, seed = 42): Alert[] {
  const rnd = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const sentence = (k: number) => Array.from({ length: k }, () => pick(WORDS)).join(' ');
  return Array.from({ length: n }, (_, i) => {
    const ts = FIXTURE_START_MS + Math.floor(rnd() * 3 * 86_400_000);
    // Every seventh alert carries a +02:00 offset: bounds and sorting must compare instants.
    const iso = (ms: number) => (i % 7 === 0 ? new Date(ms + 7_200_000).toISOString().replace('Z', '+02:00') : new Date(ms).toISOString());
    const detector = pick(DETECTORS);
    const ruleId = `${detector}-${Math.floor(rnd() * 6)}`;
    const alert: Alert = {
      id: alertId(detector, ruleId, `fixture-${seed}-${i}`),
      '@timestamp': iso(ts),
      first_seen: iso(ts - Math.floor(rnd() * 600_000)),
      last_seen: iso(ts + Math.floor(rnd() * 600_000)),
      detector,
      rule: { id: ruleId, name: `${pick(WORDS)} ${pick(WORDS)} rule` },
      score: pick(SCORES),
      severity: pick(SEVERITIES),
      message: `${sentence(3)} observed on sensor-${i % 5}`,
      explanation: { summary: sentence(4), features: [{ name: 'bytes', value: rnd() * 1000, contribution: rnd() }] },
      count: 1 + Math.floor(rnd() * 5),
      related_events: [`ev-${i}-a`, `ev-${i}-b`],
      origin: { soc: pick(ORIGINS) },
      tlp: pick(TLPS),
      status: pick(TRIAGE_STATUSES),
      labels: { env: pick(['prod', 'lab']) },
    };
    if (rnd() < 0.85) alert.host = { name: pick(HOSTS) };
    if (rnd() < 0.9) alert.source = { ip: pick(IPS), port: 1024 + Math.floor(rnd() * 60000) };
    if (rnd() < 0.9) alert.destination = { ip: pick(IPS), port: pick([22, 53, 80, 443]) };
    return alert;
  });
}
