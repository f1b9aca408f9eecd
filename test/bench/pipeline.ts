import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@soc/config';
import { TOPICS } from '@soc/schema';
import { createLogger } from '@soc/telemetry';
import { startServices } from '@soc/cli/runtime';

/** A sensor mix: half flows, the rest DNS and TLS records, one in a hundred a signature alert. */
export function sensorMix(n: number): string[] {
  const out: string[] = [];
  const base = Date.UTC(2026, 10, 1, 12);
  for (let i = 0; i < n; i++) {
    const ts = new Date(base + i).toISOString().replace('Z', '+0000');
    const common = { timestamp: ts, flow_id: 2_000_000_000 + i, in_iface: 'eth0', src_ip: `10.1.0.${i % 250}`, src_port: 1024 + (i % 60000), dest_ip: `198.51.100.${i % 200}`, dest_port: 443, proto: 'TCP' };
    const kind = i % 10;
    if (i % 100 === 0) {
      out.push(JSON.stringify({ ...common, event_type: 'alert', alert: { action: 'allowed', gid: 1, signature_id: 2010000 + (i % 50), rev: 1, signature: `ET POLICY bench signature ${i % 50}`, category: 'Potential Corporate Privacy Violation', severity: (i % 3) + 1 } }));
    } else if (kind < 5) {
      out.push(JSON.stringify({ ...common, event_type: 'flow', app_proto: 'tls', flow: { pkts_toserver: 12, pkts_toclient: 10, bytes_toserver: 1500 + i % 900, bytes_toclient: 9000, start: ts, end: ts, age: 1, state: 'closed', reason: 'timeout', alerted: false }, tcp: { tcp_flags: '1b', syn: true, fin: true, psh: true, ack: true, state: 'closed' } }));
    } else if (kind < 8) {
      out.push(JSON.stringify({ ...common, event_type: 'dns', dest_port: 53, proto: 'UDP', dns: { type: 'query', id: i & 65535, rrname: `host${i % 1000}.example.org`, rrtype: 'A', tx_id: 0 } }));
    } else {
      out.push(JSON.stringify({ ...common, event_type: 'tls', tls: { subject: 'CN=example.org', issuerdn: 'CN=R3', sni: `site${i % 500}.example.org`, version: 'TLS 1.3' } }));
    }
  }
  return out;
}

/** JSON.parse + JSON.stringify of the same lines: the floor any JSON pipeline pays. */
export function jsonBaseline(lines: string[], rounds = 3): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    for (const l of lines) bytes += JSON.stringify(JSON.parse(l)).length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (bytes > 0) best = Math.max(best, lines.length / s);
  }
  return best;
}

export async function benchPipeline(opts: { events?: number; batch?: number; concurrency?: number } = {}) {
  const n = opts.events ?? 200_000;
  const batch = opts.batch ?? 2000;
  const concurrency = opts.concurrency ?? 4;
  const lines = sensorMix(n);
  const expectedAlerts = lines.filter((l) => l.includes('"event_type":"alert"')).length;
  const dir = mkdtempSync(join(tmpdir(), 'soc-bench-'));
  const cfg = loadConfig({ env: {}, overrides: { dataDir: dir, api: { port: 0, rateLimitPerSecond: 100_000 }, collector: { rateLimit: { eventsPerSecond: 10_000_000, burst: 10_000_000 } } } });
  const logger = createLogger('bench', { level: 'warn' });
  const running = await startServices(cfg, ['collector', 'detector', 'indexer', 'api'], logger);
  try {
    const { readFileSync } = await import('node:fs');
    const creds = JSON.parse(readFileSync(running.credentialsPath, 'utf8')) as { credentials: { role: string; token: string }[] };
    const sensor = creds.credentials.find((c) => c.role === 'sensor')!.token;
    const bodies: string[] = [];
    for (let i = 0; i < n; i += batch) bodies.push(lines.slice(i, i + batch).join('\n'));
    const t0 = process.hrtime.bigint();
    let next = 0;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const r = await fetch(`${running.urls.collector}/v1/events?format=suricata`, { method: 'POST', body, headers: { authorization: `Bearer ${sensor}` } });
          const j = (await r.json()) as { accepted: number };
          if (r.status !== 202) throw new Error(`ingest answered ${r.status}`);
          accepted += j.accepted;
        }
      }),
    );
    const ingestSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // Done when the detector has consumed every event and the store holds every alert.
    for (;;) {
      const lag = (await running.bus.lag('soc-detector', TOPICS.events)).reduce((s, p) => s + p.lag, 0);
      const stored = (await running.store!.search({ sort: '@timestamp', order: 'desc', limit: 1, detector: ['suricata'] })).total;
      if (lag === 0 && stored >= expectedAlerts) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const baseline = jsonBaseline(lines);
    const endToEnd = n / seconds;
    return {
      events: n,
      accepted,
      alerts: expectedAlerts,
      ingest_events_per_s: Math.round(n / ingestSeconds),
      end_to_end_events_per_s: Math.round(endToEnd),
      json_parse_stringify_events_per_s: Math.round(baseline),
      ratio_to_json_baseline: Number((endToEnd / baseline).toFixed(3)),
      target: { end_to_end_events_per_s: 50_000, ratio_to_json_baseline: 0.25 },
    };
  } finally {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
