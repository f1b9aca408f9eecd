import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface SocProcess {
  proc: ChildProcess;
  url: string;
  ready: Record<string, unknown>;
  analystToken: string;
  sensorToken: string;
  stderr: () => string;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `soc start` (or one service alone: `command` collector, detector, …) as a real child
 * process and waits for its ready line. `url` is the API's, else the collector's, else the ops
 * (metrics/health) server's.
 */
export async function startSoc(opts: { dataDir: string; command?: string; port?: number; args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<SocProcess> {
  // SOC_EXEC_ARGV: node flags for the child (profiling: `--cpu-prof --cpu-prof-dir=DIR`; stage threads take SOC_STAGE_EXEC_ARGV).
  const nodeArgs = process.env.SOC_EXEC_ARGV?.split(' ').filter(Boolean) ?? [];
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'services/soc/src/main.ts'), opts.command ?? 'start', '--data-dir', opts.dataDir, '--port', String(opts.port ?? 0), ...(opts.args ?? [])], {
    cwd: ROOT,
    // SOC_DEBUG: a start-up failure shows its stack in the test's error, not only its one line.
    env: { ...process.env, SOC_LOG_LEVEL: process.env.SOC_LOG_LEVEL ?? 'warn', SOC_DEBUG: process.env.SOC_DEBUG ?? '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ready = await new Promise<Record<string, unknown>>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`soc start not ready in time; stderr:\n${err}`)), opts.timeoutMs ?? 60_000);
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.ready === true) {
          clearTimeout(timer);
          res(j);
        }
      } catch {
        /* not the ready line */
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`soc start exited with ${code} before ready; stderr:\n${err}`));
    });
  });
  const creds = JSON.parse(readFileSync(String(ready.credentials), 'utf8')) as { credentials: { role: string; token: string }[] };
  const token = (role: string) => creds.credentials.find((c) => c.role === role)!.token;
  return {
    proc,
    url: String(ready.api ?? ready.collector ?? ready.ops),
    ready,
    analystToken: token('analyst'),
    sensorToken: token('sensor'),
    stderr: () => err,
    stop: (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** A Suricata EVE `alert` record; `i` makes it unique. */
export function eveAlert(i: number, opts: { sid?: number; severity?: number; src?: string; dst?: string; ts?: Date } = {}): string {
  const ts = opts.ts ?? new Date(Date.UTC(2026, 10, 1, 12, 0, 0) + i * 1000);
  return JSON.stringify({
    timestamp: ts.toISOString().replace('Z', '+0000'),
    flow_id: 1_000_000_000 + i,
    in_iface: 'eth0',
    event_type: 'alert',
    src_ip: opts.src ?? `203.0.113.${(i % 250) + 1}`,
    src_port: 40000 + (i % 20000),
    dest_ip: opts.dst ?? '10.0.0.5',
    dest_port: 22,
    proto: 'TCP',
    alert: {
      action: 'allowed',
      gid: 1,
      signature_id: opts.sid ?? 2001219,
      rev: 20,
      signature: 'ET SCAN Potential SSH Scan',
      category: 'Attempted Information Leak',
      severity: opts.severity ?? 2,
    },
  });
}

export async function api(url: string, token: string | undefined, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* metrics are text */
  }
  return { status: res.status, body };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Sum of a Prometheus counter or gauge over all its label sets. */
export function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
