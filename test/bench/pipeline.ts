import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedBus } from '@soc/bus';
import { deepMerge } from '@soc/config';
import { openEmbeddedStore } from '@soc/store';
import { rng } from '@soc/prng';
import { parseLine } from '@soc/parsers';
import { TOPICS, alertId } from '@soc/schema';
import { startSoc, type SocProcess } from '../helpers/soc-process.ts';

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

/**
 * The realistic sensor mix of issue 11, seeded: 90% Zeek conn over about 30,000 internal hosts
 * talking to 5,000 external destinations (a popular few and a long tail), 8% Zeek dns, 2%
 * Suricata alerts. Lines are in time order, as a sensor writes them.
 */
export function realisticMix(n: number, seed = 11, opts: { alertShare?: number } = {}): string[] {
  const r = rng(seed);
  const alertShare = opts.alertShare ?? 0.02;
  const base = Date.UTC(2026, 10, 1, 12) / 1000;
  const internal = (i: number) => `10.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const external = (i: number) => `${23 + (i % 170)}.${(i * 37) % 250}.${(i * 11) % 250}.${1 + (i % 250)}`;
  const host = () => internal(Math.floor(r() * 30_000));
  const dest = () => external(Math.floor(5000 * r() ** 2.5));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = base + i / 20_000;
    const u = r();
    const src = host();
    const sport = 49152 + Math.floor(r() * 16000);
    if (u < alertShare) {
      const sid = 2_010_000 + Math.floor(r() * 50);
      out.push(JSON.stringify({
        timestamp: new Date(ts * 1000).toISOString().replace('Z', '+0000'), flow_id: 2_000_000_000 + i, in_iface: 'eth0', event_type: 'alert',
        src_ip: dest(), src_port: 443, dest_ip: src, dest_port: sport, proto: 'TCP',
        alert: { action: 'allowed', gid: 1, signature_id: sid, rev: 1, signature: `ET POLICY bench signature ${sid % 50}`, category: 'Potential Corporate Privacy Violation', severity: 1 + Math.floor(r() * 3) },
      }));
    } else if (u < alertShare + 0.08) {
      const q = `host${Math.floor(r() * 3000)}.example.org`;
      out.push(JSON.stringify({
        ts: +ts.toFixed(6), uid: `D${i.toString(36)}`, 'id.orig_h': src, 'id.orig_p': sport, 'id.resp_h': '10.1.0.2', 'id.resp_p': 53, proto: 'udp',
        trans_id: i & 65535, rtt: 0.002, query: q, qclass: 1, qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A', rcode: 0, rcode_name: 'NOERROR',
        AA: false, TC: false, RD: true, RA: true, Z: 0, answers: [external(i % 5000)], TTLs: [300], rejected: false,
      }));
    } else {
      const web = r() < 0.9;
      const state = r() < 0.93 ? 'SF' : r() < 0.5 ? 'S0' : 'REJ';
      const ob = Math.floor(200 + r() * 3000);
      const rb = state === 'SF' ? Math.floor(500 + r() ** 3 * 2e6) : 0;
      out.push(JSON.stringify({
        ts: +ts.toFixed(6), uid: `C${i.toString(36)}`, 'id.orig_h': src, 'id.orig_p': sport, 'id.resp_h': dest(), 'id.resp_p': web ? 443 : 80, proto: 'tcp',
        service: web ? 'ssl' : 'http', duration: +(r() * 30).toFixed(6), orig_bytes: ob, resp_bytes: rb, conn_state: state, local_orig: true, local_resp: false,
        missed_bytes: 0, history: state === 'SF' ? 'ShADadFf' : state === 'REJ' ? 'Sr' : 'S', orig_pkts: 1 + Math.round(ob / 1000), orig_ip_bytes: ob + 40, resp_pkts: state === 'SF' ? 1 + Math.round(rb / 1000) : 0, resp_ip_bytes: rb + 40,
      }));
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

export interface PipelineBenchOptions {
  events?: number;
  /** Lines per POST (issue 11: 1,000-line NDJSON batches). */
  batch?: number;
  /** Concurrent senders. */
  concurrency?: number;
  /** Share of Suricata alerts in the mix: 0.02 realistic, 1 an alert storm. */
  alertShare?: number;
  /** Paced run: events/s the senders hold (latency run); unset = as fast as accepted. */
  rate?: number;
}

/** The Suricata alert id each alert line must produce (signatures.ts derives it the same way). */
function expectedAlertIds(lines: string[]): string[] {
  const ids: string[] = [];
  for (const l of lines) {
    if (!l.includes('"event_type":"alert"')) continue;
    const o = parseLine(l, { format: 'auto', source: 'bench' });
    if (o.ok) ids.push(alertId('suricata', o.event.rule?.id ?? 'unknown', o.event.event.id));
  }
  return ids;
}

/** The process's peak resident set (VmHWM: every thread, native memory included), KiB. */
function peakRssKiB(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/**
 * CPU seconds the process has used, every thread (user + system), from /proc/<pid>/stat: the
 * pipeline's cost per event whatever the split over threads. Linux counts it in USER_HZ ticks,
 * 100 per second on every architecture Node supports.
 */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

/**
 * End to end through the public contract: N senders POST NDJSON batches to the collector of an
 * embedded `soc start` (all services, defaults); done when the detector has consumed every event
 * and the store answers every Suricata alert (each batch's last one is watched by id). With `rate`, batches are paced and the figure is
 * the latency from each batch's 202 until its last alert is queryable.
 */
/** Each thread's CPU seconds as `soc start` reports them in /metrics (soc_thread_cpu_seconds_total). */
async function threadCpu(soc: SocProcess): Promise<Map<string, number>> {
  const r = await fetch(`${soc.url}/metrics`, { headers: { authorization: `Bearer ${soc.analystToken}` } });
  const text = await r.text();
  return new Map([...text.matchAll(/^soc_thread_cpu_seconds_total\{thread="([^"]+)"\} ([\d.e+-]+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

export async function benchPipeline(opts: PipelineBenchOptions = {}) {
  const n = opts.events ?? 200_000;
  const batch = opts.batch ?? 1000;
  const concurrency = opts.concurrency ?? 4;
  const lines = realisticMix(n, 11, { alertShare: opts.alertShare });
  const dir = mkdtempSync(join(tmpdir(), 'soc-bench-'));
  const bodies: { body: string; lastAlert?: string }[] = [];
  let alerts = 0;
  for (let i = 0; i < n; i += batch) {
    const ids = expectedAlertIds(lines.slice(i, i + batch));
    alerts += ids.length;
    bodies.push({ body: lines.slice(i, i + batch).join('\n'), lastAlert: ids.at(-1) });
  }
  // The yardstick runs before and after the pipeline and the mean is used: a shared machine's
  // load drifts during a run, and the ratio should see the same load as the pipeline did.
  const baselineBefore = jsonBaseline(lines);
  // `soc start` as its own process, as an operator runs it: its RSS is the pipeline's alone.
  const config = join(dir, 'bench.json');
  // BENCH_SOC_CONFIG: settings to measure, merged into the bench's own, e.g. '{"collector":{"preserveOriginal":false}}'
  // (not SOC_*: soc start reads those as its settings and refuses unknown ones).
  const extra = process.env.BENCH_SOC_CONFIG ? (JSON.parse(process.env.BENCH_SOC_CONFIG) as Record<string, unknown>) : {};
  writeFileSync(config, JSON.stringify(deepMerge({ api: { rateLimitPerSecond: 100_000 }, collector: { rateLimit: { eventsPerSecond: 10_000_000, burst: 10_000_000 } } }, extra)));
  const soc = await startSoc({ dataDir: join(dir, 'data'), args: ['--config', config] });
  // Progress is read from the data files, read-only beside the running process (SQLite WAL).
  const bus = openEmbeddedBus({ path: join(dir, 'data', 'bus.db') });
  const store = openEmbeddedStore({ path: join(dir, 'data', 'alerts.db') });
  try {
    const sensor = soc.sensorToken;
    const latencies: number[] = [];
    const watching = new Map<string, number>();
    const threads0 = await threadCpu(soc);
    const socCpu0 = cpuSeconds(soc.proc.pid!);
    const benchCpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - t0) / 1e9;
    let next = 0;
    let accepted = 0;
    let retries = 0;
    let resets = 0;
    const watcher = setInterval(() => {
      for (const [id, at] of watching) {
        void store.get(id).then((a) => {
          if (a && watching.delete(id) && opts.rate) latencies.push(now() - at);
        });
      }
    }, 10);
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const k = next++;
          const b = bodies[k]!;
          if (opts.rate) {
            const due = (k * batch) / opts.rate;
            const wait = due - now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
          }
          for (;;) {
            let r: Response;
            try {
              r = await fetch(`${soc.url}/v1/events?format=auto`, { method: 'POST', body: b.body, headers: { authorization: `Bearer ${sensor}` } });
            } catch (err) {
              // A keep-alive socket closed under us: not acknowledged, so sent again (ids make that idempotent).
              resets++;
              if (resets > 20) throw err;
              continue;
            }
            const j = (await r.json()) as { accepted: number };
            if (r.status === 503 || r.status === 429) {
              // Backpressure: the collector asks us to come back; a sensor does the same.
              retries++;
              await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get('retry-after') ?? 1)));
              continue;
            }
            if (r.status !== 202) throw new Error(`ingest answered ${r.status}`);
            accepted += j.accepted;
            if (b.lastAlert) watching.set(b.lastAlert, now());
            break;
          }
        }
      }),
    );
    const ingestSeconds = now();
    // Done when the detector has consumed every event and the store holds every alert.
    // The per-batch watch (a get by id) is cheap; the full count runs only once it is through.
    for (;;) {
      if (watching.size === 0 && (await bus.lag('soc-detector', TOPICS.events)).every((p) => p.lag === 0)) {
        const stored = (await store.search({ sort: '@timestamp', order: 'desc', limit: 1, detector: ['suricata'] })).total;
        if (stored >= alerts) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = now();
    clearInterval(watcher);
    const socCpu = cpuSeconds(soc.proc.pid!) - socCpu0;
    const benchCpu = process.cpuUsage(benchCpu0);
    // The stage threads publish their metrics every second: wait for one more round, then take
    // every thread's CPU and the process's at the same moment (idle threads add next to nothing).
    await new Promise((r) => setTimeout(r, 1200));
    const threadsUsed = await threadCpu(soc);
    const socCpuThen = cpuSeconds(soc.proc.pid!) - socCpu0;
    const perEvent = (s: number) => Math.round((s * 1e6) / n);
    const byThread: Record<string, number> = {};
    for (const [t, v] of threadsUsed) byThread[t] = perEvent(v - (threads0.get(t) ?? 0));
    // What no thread reports: V8's GC and compiler helper threads, libuv's pool, module loading.
    byThread.other = perEvent(socCpuThen - [...threadsUsed].reduce((sum, [t, v]) => sum + v - (threads0.get(t) ?? 0), 0));
    const peakRss = peakRssKiB(soc.proc.pid!);
    const baselineAfter = jsonBaseline(lines);
    const baseline = (baselineBefore + baselineAfter) / 2;
    const endToEnd = n / seconds;
    return {
      events: n,
      batch,
      concurrency,
      alert_share: opts.alertShare ?? 0.02,
      accepted,
      alerts,
      retries_after_503: retries,
      connection_resets: resets,
      ingest_events_per_s: Math.round(n / ingestSeconds),
      end_to_end_events_per_s: Math.round(endToEnd),
      json_parse_stringify_events_per_s: Math.round(baseline),
      json_baseline_before_after: [Math.round(baselineBefore), Math.round(baselineAfter)],
      ratio_to_json_baseline: Number((endToEnd / baseline).toFixed(3)),
      peak_rss_mib: Math.round(peakRss / 1024),
      // Where the two cores went: `soc start` (all its threads) and this load generator.
      soc_cpu_us_per_event: Math.round((socCpu * 1e6) / n),
      soc_cores_busy: Number((socCpu / seconds).toFixed(2)),
      // The same CPU by thread (soc_thread_cpu_seconds_total): the stage whose thread is near a core per event-rate is the limit.
      soc_cpu_us_per_event_by_thread: byThread,
      senders_cpu_us_per_event: Math.round((benchCpu.user + benchCpu.system) / n),
      ...(opts.rate ? { rate: opts.rate, latency_202_to_queryable_s: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100), samples: latencies.length } } : {}),
    };
  } finally {
    await store.close();
    await bus.close();
    await soc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
